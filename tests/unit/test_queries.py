"""The listing's query string (dispatch.api.queries): defaults, every invalid parameter named at
once with the API's wording, and signed cursors that only continue the listing (account and
status filter) they were made for."""

from __future__ import annotations

import pytest

from dispatch.api.cursors import sign_cursor
from dispatch.api.queries import ListQuery, parse_list_query
from dispatch.domain.errors import InvalidQuery

ACCOUNT = "account-1"
KEY = b"k" * 64
DISPATCH_UUID = "0a32f954-9e9a-4650-b2a3-8cd6d6da6a9e"
OWN_KEY = {
    "pk": f"WORKFLOW#{DISPATCH_UUID}",
    "gsi1pk": f"ACCOUNT#{ACCOUNT}#WORKFLOWS",
    "gsi1sk": f"2025-01-02T03:04:05.678Z#{DISPATCH_UUID}",
}
STATUSES = "must be one of in_progress, completed, error, cancelled"
PAGE_SIZE = "must be an integer from 1 to 100"


def key() -> bytes:
    return KEY


def parse(parameters: dict[str, str] | None) -> ListQuery:
    return parse_list_query(parameters, account_id=ACCOUNT, cursor_key=key)


def invalid(parameters: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidQuery) as raised:
        parse(parameters)
    return raised.value.errors


def own_cursor(*, account_id: str = ACCOUNT, status: str | None = None, signing_key: bytes = KEY) -> str:
    return sign_cursor(OWN_KEY, key=signing_key, account_id=account_id, status=status)


def test_no_query_is_the_first_page_of_everything() -> None:
    assert parse(None) == ListQuery(status=None, page_size=20, cursor=None)


def test_empty_status_and_cursor_are_as_good_as_none() -> None:
    query = parse({"status": "", "cursor": ""})
    assert (query.status, query.cursor) == (None, None)


def test_a_query_without_a_cursor_never_reads_the_signing_key() -> None:
    def no_key() -> bytes:
        raise AssertionError("the key was read")

    assert parse_list_query({"page_size": "5"}, account_id=ACCOUNT, cursor_key=no_key).page_size == 5


def test_a_full_query_is_read() -> None:
    parameters = {
        "status": "cancelled",
        "page_size": "007",
        "cursor": own_cursor(status="cancelled"),
        "x": "y",
    }
    query = parse(parameters)
    assert (query.status, query.page_size, query.cursor) == ("cancelled", 7, OWN_KEY)


@pytest.mark.parametrize("page_size", ["0", "101", "-1", "+5", " 5", "5.0", "abc", "", "\uff11", "9" * 5000])
def test_a_page_size_is_ascii_digits_from_1_to_100(page_size: str) -> None:
    assert invalid({"page_size": page_size}) == [("page_size", PAGE_SIZE)]


def test_every_invalid_parameter_is_named_in_order() -> None:
    # Given: page size and cursor wrong at once
    parameters = {"cursor": "abc", "page_size": "0"}
    # Then: one entry each, in the order the API has always listed them
    assert invalid(parameters) == [("page_size", PAGE_SIZE), ("cursor", "is not a cursor of this listing")]


def test_an_invalid_status_is_named_and_the_cursor_is_not_judged_against_it() -> None:
    assert invalid({"status": "done", "cursor": "abc"}) == [("status", STATUSES)]


@pytest.mark.parametrize(
    "parameters",
    [
        {"cursor": "not base64 at all!"},
        {"cursor": own_cursor(account_id="someone-else")},
        {"cursor": own_cursor(signing_key=b"o" * 64)},
        {"cursor": own_cursor(status="completed")},
        {"cursor": own_cursor(), "status": "completed"},
    ],
    ids=["garbage", "another account's", "another key's", "another filter's", "unfiltered, used filtered"],
)
def test_a_cursor_only_continues_the_listing_it_was_signed_for(parameters: dict[str, str]) -> None:
    assert invalid(parameters) == [("cursor", "is not a cursor of this listing")]
