"""The Dispatch v0.1 create body (`POST /v0.1/dispatch`): its models and their validation.

Validation runs in two passes so that one 400 lists every invalid parameter at once:

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
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from dispatch.domain.channels import ADDRESS_FIELDS_BY_CHANNEL, CONTENT_TYPES, Channel, ContentType
from dispatch.domain.destinations import ForbiddenDestination, check_callback_url
from dispatch.domain.errors import BodyTooLarge, InvalidWorkflowRequest, MalformedBody, ParameterError

MAX_STEPS = 10
DEFAULT_MIN_EXPIRY_TIME = 15
MAX_EXPIRY_TIME = 86400

# Limits of what is otherwise unbounded, so that no body can outgrow DynamoDB's 400 KB item (which
# holds every step's message) or make a parser recurse without end. Each is in the OpenAPI document.
MAX_BODY_BYTES = 256 * 1024  # the whole create body
MAX_BODY_DEPTH = 64  # nesting of arrays and objects in the whole body, unknown fields included
MAX_CUSTOM_BYTES = 64 * 1024  # `custom` content, as JSON
MAX_CUSTOM_DEPTH = 32
MAX_CUSTOM_PROPERTIES = 100  # top-level properties of `custom`
MAX_TEMPLATE_NAME_LENGTH = 512  # WhatsApp's own limit on template names
MAX_TEMPLATE_PARAMETERS = 100
MAX_TEMPLATE_PARAMETER_LENGTH = 1024  # WhatsApp's limit on a template's body text
MAX_TAG_LENGTH = 100  # Messenger message tags are short names such as CONFIRMED_EVENT_UPDATE
MAX_LOCALE_LENGTH = 35  # the longest BCP 47 tag worth supporting (RFC 5646 section 4.4.1)

# What each channel can carry (custom content is a WhatsApp-only escape hatch).
CONTENT_TYPES_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    "messenger": ("text", "image", "audio", "video", "file"),
    "viber_service_msg": ("text", "image"),
    "whatsapp": ("template", "text", "image", "audio", "video", "file", "custom"),
    "sms": ("text",),
}
TEXT_LIMIT_BY_CHANNEL = {"messenger": 640, "sms": 1000, "viber_service_msg": 1000, "whatsapp": 4096}
# ASCII digits only: `\d` would also accept other scripts' digits.
_E164 = re.compile(r"[1-9][0-9]{6,14}")
# BCP 47 language[-region...]; `_` is accepted too since WhatsApp spells locales `en_GB`.
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


# --- field formats -------------------------------------------------------------------------------


def _without_plus(value: Any) -> Any:
    """`+447700900123` is `447700900123`: the Messages API takes numbers without the `+`."""
    if isinstance(value, str) and value.startswith("+") and value[1:2].isdigit():
        return value[1:]
    return value


def _e164(value: str) -> str:
    if not _E164.fullmatch(value):
        raise PydanticCustomError(
            "e164",
            "must be an E.164 phone number: 7 to 15 digits starting with the country code"
            " (a leading + is dropped), without a leading 00",
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


def _between(low: int, high: int) -> AfterValidator:
    return AfterValidator(lambda value: _check_between(value, low, high))


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def _bounded_custom(value: dict[str, Any]) -> dict[str, Any]:
    # Depth first: serializing (and pydantic's own serializer) recurses once per level.
    if json_depth(value) > MAX_CUSTOM_DEPTH:
        raise PydanticCustomError("too_deep", f"must not nest more than {MAX_CUSTOM_DEPTH} levels deep")
    if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_CUSTOM_BYTES:
        raise PydanticCustomError("too_large", f"must be at most {MAX_CUSTOM_BYTES} bytes of JSON")
    return value


Str50 = Annotated[str, Field(min_length=1, max_length=50)]
# _without_plus runs before the length check, so that "+" and 15 digits still fit. (Written after
# the Field, so that pydantic checks the length as a string's: "must be at most 50 characters".)
Number = Annotated[str, Field(min_length=1, max_length=50), BeforeValidator(_without_plus)]
E164Number = Annotated[
    str,
    # The pattern is declared for clients (and the fuzzer); _e164 checks it with its own reason.
    Field(max_length=16, json_schema_extra={"pattern": r"^\+?[1-9][0-9]{6,14}$"}),
    BeforeValidator(_without_plus),
    AfterValidator(_e164),
]
HttpUrl = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_http_url)]
# JSON integers only: no booleans, floats or numeric strings.
JsonInt = Annotated[int, Strict()]


# --- models ----------------------------------------------------------------------------------------


class RequestModel(BaseModel):
    """Built on first validation, not at import (`defer_build`): only a create validates a whole
    request; a send validates one stored step, and the other importers validate nothing."""

    model_config = ConfigDict(defer_build=True)


class Endpoint(RequestModel):
    """`from` or `to`: the channel plus the address that channel uses (see ADDRESS_FIELDS_BY_CHANNEL)."""

    type: Channel
    id: Str50 | None = None
    # A `from.number` may be an SMS alphanumeric sender id, so only `to.number` must be E.164.
    number: Number | None = None


class Recipient(Endpoint):
    """`to`: when it has a number, that number is a phone number."""

    number: E164Number | None = None


class Media(RequestModel):
    url: HttpUrl


class CaptionedMedia(Media):
    """Images and files may carry a caption; audio and video may not."""

    caption: Annotated[str, Field(min_length=1, max_length=3000)] | None = None


class TemplateParameter(RequestModel):
    default: Annotated[str, Field(max_length=MAX_TEMPLATE_PARAMETER_LENGTH)]


class Template(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=MAX_TEMPLATE_NAME_LENGTH)]
    parameters: Annotated[list[TemplateParameter], Field(max_length=MAX_TEMPLATE_PARAMETERS)] = []


class Content(RequestModel):
    """`message.content`: `type` names which of the other fields carries the message."""

    type: ContentType
    text: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    image: CaptionedMedia | None = None
    audio: Media | None = None
    video: Media | None = None
    file: CaptionedMedia | None = None
    template: Template | None = None
    custom: (
        Annotated[
            dict[str, Any],
            Field(
                max_length=MAX_CUSTOM_PROPERTIES,
                description=f"Sent as is (WhatsApp only): at most {MAX_CUSTOM_BYTES} bytes of JSON, "
                f"nested at most {MAX_CUSTOM_DEPTH} levels deep",
            ),
            AfterValidator(_bounded_custom),
        ]
        | None
    ) = None


class ViberServiceOptions(RequestModel):
    category: Literal["transaction", "promotion"] | None = None
    ttl: Annotated[JsonInt, _between(30, 86400)] | None = None


class MessengerOptions(RequestModel):
    category: Literal["response", "update", "message_tag"] | None = None
    # Required with, and only with, category message_tag.
    tag: Annotated[str, Field(min_length=1, max_length=MAX_TAG_LENGTH)] | None = None


class WhatsappOptions(RequestModel):
    policy: Literal["fallback", "deterministic"] | None = None
    locale: Annotated[str, Field(max_length=MAX_LOCALE_LENGTH), AfterValidator(_locale)] | None = None


class Message(RequestModel):
    content: Content
    viber_service_msg: ViberServiceOptions | None = None
    messenger: MessengerOptions | None = None
    whatsapp: WhatsappOptions | None = None


class Failover(RequestModel):
    """When to move on: `condition_status` not reached within `expiry_time` seconds of the send."""

    expiry_time: JsonInt
    condition_status: Literal["delivered", "read"]

    @field_validator("expiry_time")
    @classmethod
    def _expiry_time_in_range(cls, value: int, info: ValidationInfo) -> int:
        # The lower bound is configurable (the service may not poll as often as every 15 s).
        low = (info.context or {}).get("min_expiry_time", DEFAULT_MIN_EXPIRY_TIME)
        return _check_between(value, low, MAX_EXPIRY_TIME, " seconds")


class WorkflowStep(RequestModel):
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
    """https to a host that is not inward (no loopback, private or link-local address: see
    dispatch.domain.destinations), except loopback, over http too, when the service runs locally."""
    local = (info.context or {}).get("allow_http_loopback", False)
    try:
        check_callback_url(value, allow_loopback=local)
    except ForbiddenDestination as error:
        raise PydanticCustomError("callback_url", str(error)) from None
    return value


CallbackUrl = Annotated[
    str, Field(min_length=1, max_length=2000), AfterValidator(_http_url), AfterValidator(_callback_url)
]


class WorkflowRequest(RequestModel):
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

    Raises BodyTooLarge for a body over MAX_BODY_BYTES, MalformedBody when the body is not a
    JSON object or nests deeper than MAX_BODY_DEPTH, and InvalidWorkflowRequest listing every
    invalid parameter otherwise, each as ("workflow[1].failover.expiry_time", "...").
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
    raise InvalidWorkflowRequest(_merge(field_errors + rule_errors))


def stored_message(step: WorkflowStep) -> str:
    """What a workflow item keeps of a step to send it later (dispatch.domain.translate reads it
    without models): the step as validated, keys as in the request, its failover settings and
    absent fields left out."""
    return step.model_dump_json(by_alias=True, exclude_none=True, exclude={"failover"})


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
        data = body
    else:
        size = len(body.encode() if isinstance(body, str) else body)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge(MAX_BODY_BYTES)
        try:
            data = json.loads(body)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise MalformedBody("The request body is not valid JSON.") from None
        except RecursionError:  # nested deeper than the parser goes
            raise _too_deep() from None
    if not isinstance(data, dict):
        raise MalformedBody("The request body must be a JSON object.")
    if json_depth(data) > MAX_BODY_DEPTH:
        raise _too_deep()
    return data


def _too_deep() -> MalformedBody:
    return MalformedBody(f"The request body must not nest more than {MAX_BODY_DEPTH} levels deep.")


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
    if _obj(sender).get(from_field) is None:
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


def _reason(error: ErrorDetails) -> str:
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


def _merge(errors: list[tuple[str, str]]) -> list[ParameterError]:
    """One entry per name (the first reason wins), top-level fields first, then step by step."""
    seen: dict[str, str] = {}
    for name, reason in errors:
        seen.setdefault(name, reason)

    def step_index(name: str) -> int:
        match = re.match(r"workflow\[(\d+)\]", name)
        return int(match.group(1)) if match else -1

    return [ParameterError(name, seen[name]) for name in sorted(seen, key=step_index)]
