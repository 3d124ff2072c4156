"""The Dispatch v0.1 create body (`POST /v0.1/dispatch`): its models and their validation.

Validation runs in two passes so that one 422 lists every invalid parameter at once:

- pydantic checks each field on its own (types, enums, lengths, ranges, formats);
- `_rule_errors` checks the rules that tie fields together (per-channel addresses and content,
  where `failover` may appear). Pydantic skips a model's own validators as soon as one of its
  fields fails, so these rules run on the raw body too, not only inside the model.

Reasons never repeat submitted values: message text and phone numbers are personal data, and
problem bodies end up in logs.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from dispatch.api import problems
from dispatch.domain.channels import CONTENT_TYPES, Channel, ContentType

MAX_STEPS = 10
DEFAULT_MIN_EXPIRY_TIME = 15
MAX_EXPIRY_TIME = 86400

# What each channel can carry (custom content is a WhatsApp-only escape hatch).
CONTENT_TYPES_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    "messenger": ("text", "image", "audio", "video", "file"),
    "viber_service_msg": ("text", "image"),
    "whatsapp": ("template", "text", "image", "audio", "file", "custom"),
    "sms": ("text",),
}
TEXT_LIMIT_BY_CHANNEL = {"messenger": 640, "sms": 1000, "viber_service_msg": 1000, "whatsapp": 4096}
# The (from, to) endpoint field that addresses each channel: page/service ids or phone numbers.
ADDRESS_FIELDS_BY_CHANNEL: dict[str, tuple[str, str]] = {
    "messenger": ("id", "id"),
    "viber_service_msg": ("id", "number"),
    "sms": ("number", "number"),
    "whatsapp": ("number", "number"),
}
# SMS has no read receipts, so an SMS step can only wait for `delivered`.
CONDITION_STATUSES_BY_CHANNEL = {"sms": ("delivered",)}

# ASCII digits only: `\d` would also accept other scripts' digits.
_E164 = re.compile(r"[1-9][0-9]{6,14}")
# BCP 47 language[-region...]; `_` is accepted too since WhatsApp spells locales `en_GB`.
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


# --- field formats -------------------------------------------------------------------------------


def _e164(value: str) -> str:
    if not _E164.fullmatch(value):
        raise PydanticCustomError(
            "e164",
            "must be an E.164 phone number: 7 to 15 digits starting with the country code,"
            " without a leading + or 00",
        )
    return value


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise PydanticCustomError("http_url", "must be an absolute http or https URL")
    return value


def _locale(value: str) -> str:
    if not _LOCALE.fullmatch(value):
        raise PydanticCustomError("locale", "must be a BCP 47 locale such as en-GB")
    return value


def _check_between(value: int, low: int, high: int, unit: str = "") -> int:
    if not low <= value <= high:
        raise PydanticCustomError("out_of_range", f"must be between {low} and {high}{unit}")
    return value


def _between(low: int, high: int):
    return AfterValidator(lambda value: _check_between(value, low, high))


Text = Annotated[str, Field(min_length=1)]
Str50 = Annotated[str, Field(min_length=1, max_length=50)]
E164Number = Annotated[str, AfterValidator(_e164)]
HttpUrl = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_http_url)]
# JSON integers only: no booleans, floats or numeric strings.
JsonInt = Annotated[int, Strict()]


# --- models ----------------------------------------------------------------------------------------


class Endpoint(BaseModel):
    """`from` or `to`: the channel plus the address that channel uses (see ADDRESS_FIELDS_BY_CHANNEL)."""

    type: Channel
    id: Str50 | None = None
    # A `from.number` may be an SMS alphanumeric sender id, so only `to.number` must be E.164.
    number: Str50 | None = None


class Recipient(Endpoint):
    """`to`: when it has a number, that number is a phone number."""

    number: E164Number | None = None


class Media(BaseModel):
    url: HttpUrl


class CaptionedMedia(Media):
    """Images and files may carry a caption; audio and video may not."""

    caption: Annotated[str, Field(min_length=1, max_length=3000)] | None = None


class TemplateParameter(BaseModel):
    default: str


class Template(BaseModel):
    name: Text
    parameters: list[TemplateParameter] = []


class Content(BaseModel):
    """`message.content`: `type` names which of the other fields carries the message."""

    type: ContentType
    text: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    image: CaptionedMedia | None = None
    audio: Media | None = None
    video: Media | None = None
    file: CaptionedMedia | None = None
    template: Template | None = None
    custom: dict[str, Any] | None = None


class ViberServiceOptions(BaseModel):
    category: Literal["transaction", "promotion"] | None = None
    ttl: Annotated[JsonInt, _between(30, 86400)] | None = None


class MessengerOptions(BaseModel):
    category: Literal["response", "update", "message_tag"] | None = None
    tag: Text | None = None  # required with, and only with, category message_tag


class WhatsappOptions(BaseModel):
    policy: Literal["fallback", "deterministic"] | None = None
    locale: Annotated[str, AfterValidator(_locale)] | None = None


class Message(BaseModel):
    content: Content
    viber_service_msg: ViberServiceOptions | None = None
    messenger: MessengerOptions | None = None
    whatsapp: WhatsappOptions | None = None


class Failover(BaseModel):
    """When to move on: `condition_status` not reached within `expiry_time` seconds of the send."""

    expiry_time: JsonInt
    condition_status: Literal["delivered", "read"]

    @field_validator("expiry_time")
    @classmethod
    def _expiry_time_in_range(cls, value: int, info: ValidationInfo) -> int:
        # The lower bound is configurable (the service may not poll as often as every 15 s).
        low = (info.context or {}).get("min_expiry_time", DEFAULT_MIN_EXPIRY_TIME)
        return _check_between(value, low, MAX_EXPIRY_TIME, " seconds")


class WorkflowStep(BaseModel):
    """One message of the workflow; every step but the last says when to fail over."""

    # Validation errors must never quote numbers, PSIDs or text (they reach logs and histories).
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    from_: Endpoint = Field(alias="from")
    to: Recipient
    message: Message
    failover: Failover | None = None

    @property
    def channel(self) -> str:
        """The v0.1 channel name, e.g. `messenger` or `viber_service_msg`."""
        return self.from_.type


def _callback_url(value: str, info: ValidationInfo) -> str:
    """https only, except http to this machine when the service runs locally."""
    parts = urlsplit(value)
    local = (info.context or {}).get("allow_http_loopback", False)
    if parts.scheme == "https" and parts.hostname:
        return value
    if local and parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return value
    raise PydanticCustomError(
        "callback_url",
        "must be an https URL" + (" (or http to 127.0.0.1/localhost)" if local else ""),
    )


CallbackUrl = Annotated[
    str, Field(min_length=1, max_length=2000), AfterValidator(_http_url), AfterValidator(_callback_url)
]


class WorkflowRequest(BaseModel):
    """The create body. Unknown fields are ignored (forward compatibility)."""

    model_config = ConfigDict(hide_input_in_errors=True)

    # Where status callbacks and the final report go (beyond Dispatch v0.1, which referenced a
    # callback it never declared); without it, the account's default callback URL is used.
    callback: CallbackUrl | None = None

    template: Literal["failover"]
    workflow: Annotated[list[WorkflowStep], Field(min_length=1, max_length=MAX_STEPS)]

    @model_validator(mode="after")
    def _cross_field_rules(self) -> WorkflowRequest:
        # Keeps the model valid when built directly; parse_workflow_request reports all of them.
        errors = _rule_errors(self.model_dump(by_alias=True, exclude_none=True))
        if errors:
            name, reason = errors[0]
            raise PydanticCustomError("workflow_rule", "{name} {reason}", {"name": name, "reason": reason})
        return self


# --- parsing -------------------------------------------------------------------------------------


def parse_workflow_request(
    body: str | bytes | dict,
    *,
    min_expiry_time: int = DEFAULT_MIN_EXPIRY_TIME,
    allow_http_loopback_callback: bool = False,
) -> WorkflowRequest:
    """Validate a create body and return it as a WorkflowRequest.

    Raises `problems.bad_request` (400) when the body is not a JSON object, and
    `problems.invalid_parameters` (422) listing every invalid parameter otherwise, each as
    `{"name": "workflow[1].failover.expiry_time", "reason": "..."}`.
    """
    data = _load_json_object(body)
    rule_errors = _rule_errors(data)
    try:
        context = {"min_expiry_time": min_expiry_time, "allow_http_loopback": allow_http_loopback_callback}
        return WorkflowRequest.model_validate(data, context=context)
    except ValidationError as error:
        field_errors = [
            (_name(e["loc"]), _reason(e))
            for e in error.errors(include_url=False, include_input=False, include_context=True)
            if e["type"] != "workflow_rule"  # already in rule_errors, along with any others
        ]
    # Outside the except block, so the ValidationError (which holds the input) is not chained.
    raise problems.invalid_parameters(_merge(field_errors + rule_errors))


def step_summary(step: WorkflowStep) -> dict:
    """What a log line may say about a step: no addresses, no message content."""
    failover = step.failover
    return {
        "channel": step.channel,
        "content_type": step.message.content.type,
        "condition_status": failover.condition_status if failover else None,
        "expiry_time": failover.expiry_time if failover else None,
    }


def _load_json_object(body: str | bytes | dict) -> dict:
    if isinstance(body, dict):
        return body
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise problems.bad_request("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise problems.bad_request("The request body must be a JSON object.")
    return data


# --- cross-field rules ---------------------------------------------------------------------------


def _rule_errors(data: dict) -> list[tuple[str, str]]:
    """The rules that span fields, as (name, reason) pairs.

    Works on raw input: anything of the wrong shape is skipped, as pydantic reports it.
    """
    steps = data.get("workflow")
    if not isinstance(steps, list):
        return []
    errors: list[tuple[str, str]] = []
    for index, step in enumerate(steps):
        if isinstance(step, dict):
            errors += _step_rule_errors(step, f"workflow[{index}]", is_last=index == len(steps) - 1)
    return errors


def _step_rule_errors(step: dict, path: str, *, is_last: bool) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []

    def invalid(field: str, reason: str) -> None:
        errors.append((f"{path}.{field}", reason))

    failover = step.get("failover")
    if failover is None and not is_last:
        invalid("failover", "is required on every step but the last")
    elif failover is not None and is_last:
        invalid("failover", "must not be set on the last step: there is nothing to fail over to")

    message = _obj(step.get("message"))
    messenger = _obj(message.get("messenger"))
    if messenger.get("category") == "message_tag" and messenger.get("tag") is None:
        invalid("message.messenger.tag", "is required when category is message_tag")
    elif messenger.get("tag") is not None and messenger.get("category") != "message_tag":
        invalid("message.messenger.tag", "is only allowed when category is message_tag")

    sender, recipient = step.get("from"), step.get("to")
    # Raw input: a `type` may be an object or an array (unhashable), which pydantic reports.
    channel, recipient_channel = _text(_obj(sender).get("type")), _text(_obj(recipient).get("type"))
    if channel not in CONTENT_TYPES_BY_CHANNEL:
        return errors  # the remaining rules depend on the channel; pydantic reports why it is missing
    if recipient_channel in CONTENT_TYPES_BY_CHANNEL and recipient_channel != channel:
        invalid("to.type", "must be the same as from.type")

    from_field, to_field = ADDRESS_FIELDS_BY_CHANNEL[channel]
    if sender.get(from_field) is None:
        invalid(f"from.{from_field}", f"is required for the {channel} channel")
    if isinstance(recipient, dict) and recipient.get(to_field) is None:
        invalid(f"to.{to_field}", f"is required for the {channel} channel")

    content = _obj(message.get("content"))
    content_type = content.get("type")
    if content_type in CONTENT_TYPES:
        allowed = CONTENT_TYPES_BY_CHANNEL[channel]
        if content_type not in allowed:
            invalid(
                "message.content.type",
                f"is not supported on the {channel} channel (supported: {', '.join(allowed)})",
            )
        if content.get(content_type) is None:
            invalid(f"message.content.{content_type}", f"is required when content.type is {content_type}")
        text, limit = content.get("text"), TEXT_LIMIT_BY_CHANNEL[channel]
        if content_type == "text" and isinstance(text, str) and len(text) > limit:
            invalid("message.content.text", f"must be at most {limit} characters on the {channel} channel")

    statuses = CONDITION_STATUSES_BY_CHANNEL.get(channel)
    condition_status = _obj(failover).get("condition_status")
    if statuses and condition_status in ("delivered", "read") and condition_status not in statuses:
        invalid("failover.condition_status", f"must be {' or '.join(statuses)} on the {channel} channel")
    return errors


def _obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- pydantic errors as {name, reason} -------------------------------------------------------------

_REASONS = {
    "missing": "is required",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be an array",
}


def _name(loc: tuple[str | int, ...]) -> str:
    """('workflow', 1, 'failover', 'expiry_time') -> 'workflow[1].failover.expiry_time'."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else part
    return name


def _reason(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in _REASONS:
        return _REASONS[kind]
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}"
    if kind == "string_too_short":
        if ctx["min_length"] == 1:
            return "must not be empty"
        return f"must be at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters"
    if kind in ("too_short", "too_long"):
        noun = "step" if error["loc"] == ("workflow",) else "item"
        if kind == "too_short":
            return f"must contain at least {_count(ctx['min_length'], noun)}"
        return f"must contain at most {_count(ctx['max_length'], noun)}"
    return error["msg"]  # our own PydanticCustomErrors, and anything unforeseen


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _merge(errors: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One entry per name (the first reason wins), top-level fields first, then step by step."""
    seen: dict[str, str] = {}
    for name, reason in errors:
        seen.setdefault(name, reason)

    def step_index(name: str) -> int:
        match = re.match(r"workflow\[(\d+)\]", name)
        return int(match.group(1)) if match else -1

    return [{"name": name, "reason": seen[name]} for name in sorted(seen, key=step_index)]
