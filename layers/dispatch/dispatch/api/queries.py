"""The listing's query string (`GET /v0.1/workflows?status=&page_size=&cursor=`) as a model; its
cursors are signed and opened by dispatch.api.cursors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from dispatch.api.cursors import InvalidCursor, open_cursor
from dispatch.domain.errors import InvalidQuery
from dispatch.domain.statuses import WorkflowStatus
from dispatch.domain.workflows import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

# The longest page_size worth parsing: int() of thousands of digits is slow or refused outright.
_MAX_PAGE_SIZE_DIGITS = len(str(MAX_PAGE_SIZE))


class ListQuery(BaseModel):
    """The listing's parameters. An empty `status` or `cursor` is as good as none; a cursor only
    continues the listing (account and status filter) it was signed for (validation context:
    `account_id`, and `cursor_key`, a callable returning the signing key)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: dict[str, Any] | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _known_status(cls, value: Any) -> str | None:
        if not value:
            return None
        if value not in set(WorkflowStatus):
            raise PydanticCustomError("status", f"must be one of {', '.join(WorkflowStatus)}")
        return str(value)

    @field_validator("page_size", mode="before")
    @classmethod
    def _page_size(cls, value: Any) -> int:
        if isinstance(value, str):
            # ASCII digits only: no sign, spaces or other scripts' digits.
            digits = value.isascii() and value.isdigit() and len(value) <= _MAX_PAGE_SIZE_DIGITS
            size = int(value) if digits else 0
        else:
            size = value if isinstance(value, int) and not isinstance(value, bool) else 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise PydanticCustomError("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}")
        return size

    @field_validator("cursor", mode="before")
    @classmethod
    def _own_cursor(cls, value: Any, info: ValidationInfo) -> dict[str, Any] | None:
        if not value:
            return None
        if "status" not in info.data:
            return None  # the status is invalid (and reported): no filter to check the cursor against
        context = info.context or {}
        try:
            if not isinstance(value, str):
                raise InvalidCursor("not a cursor")
            return open_cursor(
                value,
                key=context["cursor_key"](),
                account_id=context.get("account_id", ""),
                status=info.data["status"],
            )
        except InvalidCursor:
            raise PydanticCustomError("cursor", "is not a cursor of this listing") from None


def parse_list_query(
    parameters: Mapping[str, str] | None, *, account_id: str, cursor_key: Callable[[], bytes]
) -> ListQuery:
    """The query of the account's listing; InvalidQuery naming every invalid parameter.
    `cursor_key` is only called when there is a cursor to open."""
    context = {"account_id": account_id, "cursor_key": cursor_key}
    try:
        return ListQuery.model_validate(dict(parameters or {}), context=context)
    except ValidationError as error:
        invalid = [(str(e["loc"][0]), e["msg"]) for e in error.errors()]
    raise InvalidQuery(invalid)
