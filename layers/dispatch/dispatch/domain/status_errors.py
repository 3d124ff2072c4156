"""A failed message's error, from the Messages API v1 shape to the Dispatch v0.1 shape.

Messages v1 posts `"error": {"type": "https://.../api-errors/messages#1300", "title": ...,
"detail": ..., "instance": ...}`: the code is the last part of the `type` URL (some bodies put it
in `title` instead), and the human reason is the `title`, or the `detail` when the title is only
the code. Dispatch v0.1 callbacks carry `"error": {"code": 1300, "reason": "Not part of the
provider network"}`: an integer code and that reason.

The reason is free text from the provider, so runs of digits that could be a phone number or a
PSID are masked, and it is cut to MAX_REASON_LENGTH characters.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

MAX_REASON_LENGTH = 200
MAX_TYPE_LENGTH = 300
# The longest error code worth reading (Vonage's are 4 digits); longer digit runs are no code.
_CODE = re.compile(r"[0-9]{1,9}")
# Six digits or more, possibly spaced or dashed, with an optional leading +: numbers and PSIDs.
_LONG_NUMBER = re.compile(r"\+?[0-9](?:[ -]?[0-9]){5,}")


def _code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)  # a code stored before, as DynamoDB returns numbers
    if isinstance(value, int):
        return value if 0 <= value < 10**9 else None
    if isinstance(value, str) and _CODE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def error_code(error: dict[str, Any]) -> int | None:
    """The integer code of a Messages v1 error: the `type` URL's fragment or last path segment,
    else a numeric `title` (or a `code`, as a Dispatch-shaped error has it)."""
    kind = error.get("type")
    if isinstance(kind, str) and kind:
        tail = re.split(r"[#/]", kind.rstrip("/"))[-1]
        if (code := _code(tail)) is not None:
            return code
    for key in ("title", "code"):
        if (code := _code(error.get(key))) is not None:
            return code
    return None


def error_reason(error: dict[str, Any]) -> str | None:
    """The human reason: a `title` that is not just the code, else the `detail` (or a `reason`)."""
    for key in ("title", "detail", "reason"):
        value = error.get(key)
        if isinstance(value, str) and value.strip() and _code(value) is None:
            return _masked(value.strip())
    return None


def _masked(text: str) -> str:
    text = _LONG_NUMBER.sub("…", text)
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"


def dispatch_error(error: dict[str, Any]) -> dict[str, Any]:
    """What is stored of a status's error, as Dispatch shapes it: `code` (int) and `reason` when
    known, and the `type` URL (bounded) for reference."""
    stored: dict[str, Any] = {}
    if (code := error_code(error)) is not None:
        stored["code"] = code
    if reason := error_reason(error):
        stored["reason"] = reason
    kind = error.get("type")
    if isinstance(kind, str) and kind:
        stored["type"] = kind[:MAX_TYPE_LENGTH]
    return stored


def reported_error(stored: dict[str, Any], status: str | None) -> dict[str, Any]:
    """`{"code": ..., "reason": ...}` as callbacks and the API show a stored error (also one stored
    before errors were kept in the Dispatch shape, as the Messages API's `type` and `title`)."""
    error = dispatch_error(stored)
    reason = error.get("reason") or f"The message was {status or 'not delivered'}."
    return {"code": error.get("code"), "reason": reason}
