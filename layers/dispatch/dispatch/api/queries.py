"""The listing's query string (`GET /v0.1/workflows?status=&page_size=&cursor=`); its cursors are
signed and opened by dispatch.api.cursors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dispatch.api.cursors import InvalidCursor, open_cursor
from dispatch.domain.errors import InvalidQuery
from dispatch.domain.statuses import WorkflowStatus
from dispatch.domain.workflows import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

# The longest page_size worth parsing: int() of thousands of digits is slow or refused outright.
_MAX_PAGE_SIZE_DIGITS = len(str(MAX_PAGE_SIZE))
_STATUSES = frozenset(WorkflowStatus)


@dataclass(frozen=True)
class ListQuery:
    """The listing's parameters: a status filter, a page size and the position to go on from."""

    status: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: dict[str, Any] | None = None


def parse_list_query(
    parameters: Mapping[str, str] | None, *, account_id: str, cursor_key: Callable[[], bytes]
) -> ListQuery:
    """The query of the account's listing; InvalidQuery naming every invalid parameter, in the
    order status, page_size, cursor. An empty `status` or `cursor` is as good as none; other
    parameters are ignored. A cursor only continues the listing (account and status filter) it
    was signed for; `cursor_key` (the signing key) is only called when there is one to open."""
    parameters = parameters or {}
    invalid: list[tuple[str, str]] = []

    status = parameters.get("status") or None
    if status is not None and status not in _STATUSES:
        invalid.append(("status", f"must be one of {', '.join(WorkflowStatus)}"))

    page_size = DEFAULT_PAGE_SIZE
    if "page_size" in parameters:
        text = parameters["page_size"]
        # ASCII digits only: no sign, spaces or other scripts' digits.
        digits = text.isascii() and text.isdigit() and len(text) <= _MAX_PAGE_SIZE_DIGITS
        page_size = int(text) if digits else 0
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            invalid.append(("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}"))

    cursor = None
    # With an invalid status (reported) there is no filter to check a cursor against.
    if parameters.get("cursor") and not (invalid and invalid[0][0] == "status"):
        try:
            cursor = open_cursor(parameters["cursor"], key=cursor_key(), account_id=account_id, status=status)
        except InvalidCursor:
            invalid.append(("cursor", "is not a cursor of this listing"))

    if invalid:
        raise InvalidQuery(invalid)
    return ListQuery(status=status, page_size=page_size, cursor=cursor)
