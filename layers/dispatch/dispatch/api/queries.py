"""The listing's query string (`GET /v0.1/workflows?status=&page_size=&cursor=`) as a model, and
its opaque cursors."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from dispatch.domain.errors import InvalidQuery
from dispatch.domain.statuses import WorkflowStatus
from dispatch.domain.workflows import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from dispatch.storage.workflow_repository import account_workflows_key


def encode_cursor(key: dict[str, Any]) -> str:
    """An opaque continuation token (the index position; no secrets, no PII)."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The index position of a cursor; ValueError when it is not one of ours."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as error:
        raise ValueError("not a cursor") from error
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise ValueError("not a cursor")
    return key


class ListQuery(BaseModel):
    """The listing's parameters. An empty `status` or `cursor` is as good as none; a cursor only
    continues the listing of the account it was made for (validation context `account_id`)."""

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
            size = int(value) if value.isascii() and value.isdigit() else 0
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
        try:
            key = decode_cursor(value) if isinstance(value, str) else {}
        except ValueError:
            key = {}
        if key.get("gsi1pk") != account_workflows_key((info.context or {}).get("account_id", "")):
            raise PydanticCustomError("cursor", "is not a cursor of this listing")
        return key


def parse_list_query(parameters: Mapping[str, str] | None, *, account_id: str) -> ListQuery:
    """The query of the account's listing; InvalidQuery naming every invalid parameter."""
    try:
        return ListQuery.model_validate(dict(parameters or {}), context={"account_id": account_id})
    except ValidationError as error:
        invalid = [(str(e["loc"][0]), e["msg"]) for e in error.errors()]
    raise InvalidQuery(invalid)
