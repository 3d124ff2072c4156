"""The Dispatch v0.1 create body (`POST /v0.1/dispatch`) as pydantic models: the contract.

The OpenAPI document is generated from these models, and `parse_workflow_request` validates a
body with them. The create function itself validates with dispatch.domain.create_body, the same
checks in plain Python (pydantic's import would cost its cold start more than its target allows);
the tests hold the two to the same answers (tests/unit/conftest.py,
tests/unit/test_create_body_schema.py). The formats, limits and cross-field rules are written
once, in dispatch.domain.create_body, and used by both.

Validation runs in two passes so that one 400 lists every invalid parameter at once:

- pydantic checks each field on its own (types, enums, lengths, ranges, formats);
- `rule_errors` checks the rules that tie fields together (per-channel addresses and content,
  where `failover` may appear). Pydantic skips a model's own validators as soon as one of its
  fields fails, so these rules run on the raw body too, not only inside the model.

Reasons never repeat submitted values: message text and phone numbers are personal data, and
problem bodies end up in logs.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

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

from dispatch.domain.channels import Channel, ContentType
from dispatch.domain.create_body import (
    DEFAULT_MIN_EXPIRY_TIME,
    MAX_CUSTOM_BYTES,
    MAX_CUSTOM_DEPTH,
    MAX_CUSTOM_PROPERTIES,
    MAX_EXPIRY_TIME,
    MAX_LOCALE_LENGTH,
    MAX_STEPS,
    MAX_TAG_LENGTH,
    MAX_TEMPLATE_NAME_LENGTH,
    MAX_TEMPLATE_PARAMETER_LENGTH,
    MAX_TEMPLATE_PARAMETERS,
    count,
    custom_error,
    e164_error,
    http_url_error,
    load_json_object,
    locale_error,
    merge,
    range_error,
    rule_errors,
    without_plus,
)
from dispatch.domain.destinations import ForbiddenDestination, check_callback_url
from dispatch.domain.errors import InvalidWorkflowRequest

# --- field formats, as pydantic validators (the checks themselves: dispatch.domain.create_body) ---


def _reject(kind: str, reason: str | None, value: Any) -> Any:
    if reason is not None:
        raise PydanticCustomError(kind, reason)
    return value


def _e164(value: str) -> str:
    return _reject("e164", e164_error(value), value)


def _http_url(value: str) -> str:
    return _reject("http_url", http_url_error(value), value)


def _locale(value: str) -> str:
    return _reject("locale", locale_error(value), value)


def _check_between(value: int, low: int, high: int, unit: str = "") -> int:
    return _reject("out_of_range", range_error(value, low, high, unit), value)


def _between(low: int, high: int) -> AfterValidator:
    return AfterValidator(lambda value: _check_between(value, low, high))


def _bounded_custom(value: dict[str, Any]) -> dict[str, Any]:
    return _reject("custom", custom_error(value), value)


_without_plus = without_plus

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
    """Built on first validation, not at import (`defer_build`): the OpenAPI document only needs
    their JSON Schemas."""

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
        errors = rule_errors(self.model_dump(by_alias=True, exclude_none=True))
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
    data = load_json_object(body)
    cross_field_errors = rule_errors(data)
    try:
        context = {"min_expiry_time": min_expiry_time, "allow_http_loopback": allow_http_loopback_callback}
        return WorkflowRequest.model_validate(data, context=context)
    except ValidationError as error:
        field_errors = [
            (_name(e["loc"]), _reason(e))
            for e in error.errors(include_url=False, include_input=False, include_context=True)
            if e["type"] != "workflow_rule"  # already in cross_field_errors, along with any others
        ]
    # Outside the except block, so the ValidationError (which holds the input) is not chained.
    raise InvalidWorkflowRequest(merge(field_errors + cross_field_errors))


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
            return f"must contain at least {count(ctx['min_length'], noun)}"
        return f"must contain at most {count(ctx['max_length'], noun)}"
    return error["msg"]  # our own PydanticCustomErrors, and anything unforeseen
