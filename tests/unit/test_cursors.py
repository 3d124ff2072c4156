"""The listing's continuation cursors: opaque, signed, bound to the account and the filter
(dispatch.api.cursors)."""

from __future__ import annotations

import base64
import json

import pytest

from dispatch.api.cursors import MAX_CURSOR_LENGTH, InvalidCursor, open_cursor, sign_cursor

KEY, OTHER_KEY = b"k" * 64, b"o" * 64
ACCOUNT = "acct-1"
DISPATCH_UUID = "0a32f954-9e9a-4650-b2a3-8cd6d6da6a9e"
LAST_KEY = {
    "pk": f"WORKFLOW#{DISPATCH_UUID}",
    "gsi1pk": f"ACCOUNT#{ACCOUNT}#WORKFLOWS",
    "gsi1sk": f"2025-01-02T03:04:05.678Z#{DISPATCH_UUID}",
}


def cursor(**overrides) -> str:
    options = {"key": KEY, "account_id": ACCOUNT, "status": None} | overrides
    return sign_cursor(LAST_KEY, **options)


def test_a_cursor_opens_to_the_index_key_it_was_made_from():
    assert open_cursor(cursor(), key=KEY, account_id=ACCOUNT, status=None) == LAST_KEY


def test_a_cursor_of_a_filtered_listing_opens_with_that_filter():
    made = cursor(status="completed")
    assert open_cursor(made, key=KEY, account_id=ACCOUNT, status="completed") == LAST_KEY


def test_a_cursor_is_opaque_url_safe_and_short():
    made = cursor()
    assert len(made) <= MAX_CURSOR_LENGTH
    assert set(made) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    decoded = base64.urlsafe_b64decode(made + "=" * (-len(made) % 4))
    # No table keys, no JSON, no account: only packed bytes and a tag
    for visible in (b"WORKFLOW", b"ACCOUNT", b"gsi1", ACCOUNT.encode(), DISPATCH_UUID.encode(), b"{"):
        assert visible not in decoded


@pytest.mark.parametrize(
    ("account_id", "status", "key"),
    [
        ("acct-2", None, KEY),  # another account
        (ACCOUNT, "completed", KEY),  # another filter
        (ACCOUNT, None, OTHER_KEY),  # another key (e.g. another stack)
    ],
    ids=["account", "filter", "key"],
)
def test_a_cursor_opens_nowhere_else(account_id, status, key):
    with pytest.raises(InvalidCursor):
        open_cursor(cursor(), key=key, account_id=account_id, status=status)


def test_a_cursor_with_any_byte_changed_is_refused():
    made = cursor()
    raw = bytearray(base64.urlsafe_b64decode(made + "=" * (-len(made) % 4)))
    for index in range(len(raw)):
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(tampered)).decode().rstrip("=")
        with pytest.raises(InvalidCursor):
            open_cursor(text, key=KEY, account_id=ACCOUNT, status=None)


def old_style_cursor(key: dict) -> str:
    """The cursor format before cursors were signed: base64 of the index key as JSON."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "crafted",
    [
        old_style_cursor(LAST_KEY),  # the account's own index key, crafted
        old_style_cursor({"gsi1pk": f"ACCOUNT#{ACCOUNT}#WORKFLOWS"}),
        "not-a-cursor",
        "",
        "A" * 55,
        "A" * (MAX_CURSOR_LENGTH + 1),
        "9" * 5000,
        "é" * 10,
        "%%%",
    ],
)
def test_a_crafted_cursor_is_refused(crafted):
    with pytest.raises(InvalidCursor):
        open_cursor(crafted, key=KEY, account_id=ACCOUNT, status=None)
