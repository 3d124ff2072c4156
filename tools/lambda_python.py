"""Find a python3.13, the Lambda runtime's Python (for `make build`, `make bench-cold` and the
bytecode tests): $PYTHON313, python3.13 on PATH, then pyenv's installs (pyenv's shim answers only
when 3.13 is the selected version). Prints its path, or nothing and exit status 1.

    python3 tools/lambda_python.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def find_python313() -> str | None:
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [os.environ.get("PYTHON313"), shutil.which("python3.13")]
    candidates += [
        str(path) for path in sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"), reverse=True)
    ]
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
                capture_output=True,
                text=True,
                check=False,
            )
        except OSError:
            continue
        if probe.stdout.strip() == "True":
            return candidate
    return None


if __name__ == "__main__":
    found = find_python313()
    if found:
        print(found)
    sys.exit(0 if found else 1)
