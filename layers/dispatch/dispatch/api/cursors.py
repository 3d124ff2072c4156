"""Continuation cursors of the workflow listing: opaque to clients, and tamper-evident.

A cursor says where the next page starts: the last workflow of the page (its creation time and
its id), packed as bytes rather than as table keys, plus an HMAC-SHA256 tag (truncated to 128
bits) keyed with a secret from Secrets Manager. The tag also covers the account and the status
filter the page was listed with, so a cursor that was altered, crafted, or carried over to another
account or another filter is refused. The table keys are rebuilt from the position and the
caller's account; nothing a client sends reaches DynamoDB as a key.

Layout (base64url, no padding): version (1 byte) | creation time, epoch milliseconds (8 bytes,
big-endian) | dispatch_uuid (16 bytes) | tag (16 bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from dispatch.clock import iso
from dispatch.storage.workflow_repository import account_workflows_key, workflow_key

VERSION = 1
_POSITION = struct.Struct(">BQ16s")
_TAG_BYTES = 16
# 41 bytes of base64url: a longer value cannot be one of ours (checked before any decoding).
MAX_CURSOR_LENGTH = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidCursor(ValueError):
    """Not a cursor this service issued for this account and filter."""


def _tag(key: bytes, position: bytes, *, account_id: str, status: str | None) -> bytes:
    # NUL-separated: neither an account id nor a status contains one.
    message = b"\0".join([b"workflows-cursor", account_id.encode(), (status or "").encode(), position])
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def sign_cursor(last_key: dict[str, Any], *, key: bytes, account_id: str, status: str | None) -> str:
    """The cursor continuing after `last_key` (an index key of the listing: gsi1sk is
    `<created_at>#<dispatch_uuid>`)."""
    created_at, _, dispatch_uuid = str(last_key["gsi1sk"]).rpartition("#")
    millis = (datetime.fromisoformat(created_at) - _EPOCH) // timedelta(milliseconds=1)
    position = _POSITION.pack(VERSION, millis, uuid.UUID(dispatch_uuid).bytes)
    token = position + _tag(key, position, account_id=account_id, status=status)
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def open_cursor(cursor: str, *, key: bytes, account_id: str, status: str | None) -> dict[str, str]:
    """The index key to continue the listing from; InvalidCursor unless the cursor was issued
    for this account and this status filter, unaltered."""
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        raise InvalidCursor("not a cursor")
    try:
        token = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError as error:  # binascii.Error is a ValueError
        raise InvalidCursor("not a cursor") from error
    position, tag = token[: _POSITION.size], token[_POSITION.size :]
    if len(position) != _POSITION.size or not hmac.compare_digest(
        tag, _tag(key, position, account_id=account_id, status=status)
    ):
        raise InvalidCursor("not a cursor of this listing")
    version, millis, uuid_bytes = _POSITION.unpack(position)
    if version != VERSION:
        raise InvalidCursor("not a cursor of this version")
    dispatch_uuid = str(uuid.UUID(bytes=uuid_bytes))
    created_at = iso(_EPOCH + timedelta(milliseconds=millis))
    return {
        **workflow_key(dispatch_uuid),
        "gsi1pk": account_workflows_key(account_id),
        "gsi1sk": f"{created_at}#{dispatch_uuid}",
    }
