"""The listing's query string (dispatch.api.queries): defaults, every invalid parameter named at
once with the API's wording, and cursors that only continue their own account's listing."""

from __future__ import annotations

import pytest

from dispatch.api.queries import ListQuery, decode_cursor, encode_cursor, parse_list_query
from dispatch.domain.errors import InvalidQuery

ACCOUNT = "account-1"
OWN_KEY = {"pk": "WORKFLOW#x", "gsi1pk": "ACCOUNT#account-1#WORKFLOWS", "gsi1sk": "2025#x"}
STATUSES = "must be one of in_progress, completed, error, cancelled"
PAGE_SIZE = "must be an integer from 1 to 100"


def invalid(parameters: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidQuery) as raised:
        parse_list_query(parameters, account_id=ACCOUNT)
    return raised.value.errors


def test_no_query_is_the_first_page_of_everything() -> None:
    assert parse_list_query(None, account_id=ACCOUNT) == ListQuery(status=None, page_size=20, cursor=None)


def test_empty_status_and_cursor_are_as_good_as_none() -> None:
    query = parse_list_query({"status": "", "cursor": ""}, account_id=ACCOUNT)
    assert (query.status, query.cursor) == (None, None)


def test_a_full_query_is_read() -> None:
    parameters = {"status": "cancelled", "page_size": "007", "cursor": encode_cursor(OWN_KEY), "x": "y"}
    query = parse_list_query(parameters, account_id=ACCOUNT)
    assert (query.status, query.page_size, query.cursor) == ("cancelled", 7, OWN_KEY)


@pytest.mark.parametrize("page_size", ["0", "101", "-1", "+5", " 5", "5.0", "abc", "", "\uff11"])
def test_a_page_size_is_ascii_digits_from_1_to_100(page_size: str) -> None:
    assert invalid({"page_size": page_size}) == [("page_size", PAGE_SIZE)]


def test_every_invalid_parameter_is_named_in_order() -> None:
    # Given: all three parameters wrong at once
    parameters = {"cursor": "abc", "page_size": "0", "status": "done"}
    # Then: one entry each, in the order the API has always listed them
    assert invalid(parameters) == [
        ("status", STATUSES),
        ("page_size", PAGE_SIZE),
        ("cursor", "is not a cursor of this listing"),
    ]


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        encode_cursor({"gsi1pk": "ACCOUNT#someone-else#WORKFLOWS"}),
        encode_cursor({"pk": "WORKFLOW#x"}),
    ],
    ids=["garbage", "another account's", "no index key"],
)
def test_a_cursor_only_continues_its_own_accounts_listing(cursor: str) -> None:
    assert invalid({"cursor": cursor}) == [("cursor", "is not a cursor of this listing")]


def test_a_cursor_round_trips_and_holds_only_the_index_position() -> None:
    assert decode_cursor(encode_cursor(OWN_KEY)) == OWN_KEY
    with pytest.raises(ValueError):
        decode_cursor(encode_cursor({"n": 1}))  # type: ignore[dict-item]
