#!/usr/bin/env bash
# Times what a newcomer waits for, in a fresh clone of this repository's HEAD (committed work
# only): the set-up (venv and pip install, as the first `make` does it), `make test`, `make demo`.
#
#   tools/time_fresh_clone.sh           # pip may use its download cache, as on a machine that installed before
#   tools/time_fresh_clone.sh --cold    # no pip cache, as on a new machine
#
# Prints one line per step, plus the machine's cores and load (the numbers mean little on a busy
# machine: run it when nothing else runs). `make measure` runs it. The clone is deleted afterwards.
set -euo pipefail

repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = "--cold" ]; then
    export PIP_NO_CACHE_DIR=1
    cache="no pip cache"
else
    cache="pip cache allowed"
fi
# The demo on free ports, so that a `make run` elsewhere on this machine does not collide with it.
export LOCAL_API_PORT=0 LOCAL_MOTO_PORT=0 LOCAL_SANDBOX_PORT=0
unset VIRTUAL_ENV PYTHONPATH

git clone --quiet --no-hardlinks "$repo" "$work/clone"
cd "$work/clone"
echo "fresh clone of $(git log -1 --format='%h %cs'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $cache"

failed=0
step() {  # step NAME COMMAND...: run it and print its wall time (and the end of its log if it failed)
    local name=$1 start end result=""
    shift
    start=$(date +%s.%N)
    "$@" >"$work/$name.log" 2>&1 || result=failed
    end=$(date +%s.%N)
    awk -v name="$name" -v s="$start" -v e="$end" -v r="$result" \
        'BEGIN { t = e - s; printf "%-10s %dm %02ds %s\n", name, t / 60, t % 60, r }'
    if [ -n "$result" ]; then
        failed=1
        tail -n 15 "$work/$name.log" | sed 's/^/    | /'
    fi
}

step set-up make .venv/.installed
step test make test
grep -E '^=+ .*[0-9]+ (passed|failed)' "$work/test.log" | tail -n 1 | sed 's/^=* */           /; s/ =*$//'
step demo make demo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $failed
