"""The Dispatch v0.1 create body (`POST /v0.1/dispatch`), checked in plain Python.

The create function validates every body with this module rather than with the pydantic models
of dispatch.domain.workflow_request: pydantic's import alone costs a cold start about 0.4 of a
bare boto3 function, more than the create function's whole target (docs/performance.md). The
models stay the contract: the OpenAPI document is generated from them, and the tests run every
body they parse through both and require the same answer (tests/unit/conftest.py,
tests/unit/test_create_body_schema.py).

Validation runs in two passes so that one 400 lists every invalid parameter at once, in the
order the document declares the fields:

- each field on its own (types, enums, lengths, ranges, formats), every field of every object;
- `rule_errors`: the rules that tie fields together (per-channel addresses and content, where
  `failover` may appear), on the raw body.

Reasons never repeat submitted values: message text and phone numbers are personal data, and
problem bodies end up in logs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from dispatch.domain.channels import ADDRESS_FIELDS_BY_CHANNEL, CONTENT_TYPES
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
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 3000
MAX_ADDRESS_LENGTH = 50
MAX_URL_LENGTH = 2000

# What each channel can carry (custom content is a WhatsApp-only escape hatch).
CONTENT_TYPES_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    "messenger": ("text", "image", "audio", "video", "file"),
    "viber_service_msg": ("text", "image"),
    "whatsapp": ("template", "text", "image", "audio", "video", "file", "custom"),
    "sms": ("text",),
}
TEXT_LIMIT_BY_CHANNEL = {"messenger": 640, "sms": 1000, "viber_service_msg": 1000, "whatsapp": 4096}
CHANNELS = ("sms", "viber_service_msg", "messenger", "whatsapp")
# ASCII digits only: `\d` would also accept other scripts' digits.
_E164 = re.compile(r"[1-9][0-9]{6,14}")
# BCP 47 language[-region...]; `_` is accepted too since WhatsApp spells locales `en_GB`.
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")

E164_REASON = (
    "must be an E.164 phone number: 7 to 15 digits starting with the country code"
    " (a leading + is dropped), without a leading 00"
)
HTTP_URL_REASON = "must be an absolute http or https URL"
LOCALE_REASON = "must be a BCP 47 locale such as en-GB"


class CreateBody(NamedTuple):
    """A valid create body: `workflow` holds each step as JSON would carry it (keys as in the
    request, in the document's order, absent values left out)."""

    template: str
    workflow: list[dict[str, Any]]
    callback: str | None = None


# --- field formats (each returns the reason a value is refused, or None) ---------------------------


def without_plus(value: Any) -> Any:
    """`+447700900123` is `447700900123`: the Messages API takes numbers without the `+`."""
    if isinstance(value, str) and value.startswith("+") and value[1:2].isdigit():
        return value[1:]
    return value


def e164_error(value: str) -> str | None:
    return None if _E164.fullmatch(value) else E164_REASON


def http_url_error(value: str) -> str | None:
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return HTTP_URL_REASON
    return None if parts.scheme in ("http", "https") and parts.netloc else HTTP_URL_REASON


def locale_error(value: str) -> str | None:
    return None if _LOCALE.fullmatch(value) else LOCALE_REASON


def range_error(value: int, low: int, high: int, unit: str = "") -> str | None:
    return None if low <= value <= high else f"must be between {low} and {high}{unit}"


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


def custom_error(value: dict[str, Any]) -> str | None:
    # Depth first: serializing recurses once per level.
    if json_depth(value) > MAX_CUSTOM_DEPTH:
        return f"must not nest more than {MAX_CUSTOM_DEPTH} levels deep"
    if len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_CUSTOM_BYTES:
        return f"must be at most {MAX_CUSTOM_BYTES} bytes of JSON"
    return None


def one_of(values: tuple[str, ...]) -> str:
    """The reason for a value outside `values`, worded as the API always has."""
    quoted = [f"'{value}'" for value in values]
    listed = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"must be one of {listed}"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# --- the fields ------------------------------------------------------------------------------------

_MISSING = object()


class _Fields:
    """Reads one object's fields, noting every invalid one as (name, reason)."""

    def __init__(self, errors: list[tuple[str, str]], path: str, values: dict[str, Any]) -> None:
        self.errors, self.path, self.values = errors, path, values
        self.out: dict[str, Any] = {}

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def invalid(self, key: str, reason: str) -> None:
        self.errors.append((self.name(key), reason))

    def take(
        self, key: str, *, required: bool, check: Callable[[str, Any], Any], nullable: bool = True
    ) -> None:
        """Read `key` with `check(name, value)`, which returns the value to keep, or _MISSING
        once it noted why the value is refused. An optional field may be absent, and null too
        unless it is not `nullable` (a null then goes to `check`, which refuses it)."""
        value = self.values.get(key, _MISSING)
        if value is _MISSING or (value is None and not required and nullable):
            if value is _MISSING and required:
                self.invalid(key, "is required")
            return
        kept = check(self.name(key), value)
        if kept is not _MISSING:
            self.out[key] = kept

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        min_length: int = 0,
        max_length: int,
        before: Callable[[Any], Any] | None = None,
        after: Callable[[str], str | None] | None = None,
    ) -> None:
        def check(name: str, value: Any) -> Any:
            value = before(value) if before else value
            reason = _text_error(value, min_length, max_length)
            if reason is None and after is not None:
                reason = after(value)
            return self._kept(name, value, reason)

        self.take(key, required=required, check=check)

    def choice(self, key: str, values: tuple[str, ...], *, required: bool = False) -> None:
        def check(name: str, value: Any) -> Any:
            known = isinstance(value, str) and value in values
            return self._kept(name, value, None if known else one_of(values))

        self.take(key, required=required, check=check)

    def integer(self, key: str, low: int, high: int, unit: str = "", *, required: bool = False) -> None:
        def check(name: str, value: Any) -> Any:
            # JSON integers only: no booleans, floats or numeric strings.
            if type(value) is not int:
                return self._kept(name, value, "must be an integer")
            return self._kept(name, value, range_error(value, low, high, unit))

        self.take(key, required=required, check=check)

    def object(self, key: str, read: Callable[[_Fields], None], *, required: bool = False) -> None:
        def check(name: str, value: Any) -> Any:
            if not isinstance(value, dict):
                return self._kept(name, value, "must be an object")
            fields = _Fields(self.errors, name, value)
            read(fields)
            return fields.out

        self.take(key, required=required, check=check)

    def array(
        self,
        key: str,
        read: Callable[[_Fields], None],
        *,
        max_items: int,
        min_items: int = 0,
        noun: str = "item",
        required: bool = False,
        nullable: bool = True,
    ) -> None:
        """A list of objects, each read with `read`."""

        def check(name: str, value: Any) -> Any:
            if not isinstance(value, list):
                return self._kept(name, value, "must be an array")
            if len(value) < min_items:
                return self._kept(name, value, f"must contain at least {count(min_items, noun)}")
            if len(value) > max_items:
                return self._kept(name, value, f"must contain at most {count(max_items, noun)}")
            kept = []
            for index, element in enumerate(value):
                if not isinstance(element, dict):
                    self.errors.append((f"{name}[{index}]", "must be an object"))
                    continue
                item = _Fields(self.errors, f"{name}[{index}]", element)
                read(item)
                kept.append(item.out)
            return kept

        self.take(key, required=required, check=check, nullable=nullable)

    def _kept(self, name: str, value: Any, reason: str | None) -> Any:
        if reason is None:
            return value
        self.errors.append((name, reason))
        return _MISSING


def _text_error(value: Any, min_length: int, max_length: int) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) < min_length:
        return "must not be empty" if min_length == 1 else f"must be at least {min_length} characters"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    return None


def _endpoint(fields: _Fields, *, recipient: bool) -> None:
    """`from` or `to`: the channel plus the address that channel uses. A `from.number` may be an
    SMS alphanumeric sender id, so only `to.number` must be E.164."""
    fields.choice("type", CHANNELS, required=True)
    fields.text("id", min_length=1, max_length=MAX_ADDRESS_LENGTH)
    if recipient:
        fields.text("number", max_length=16, before=without_plus, after=e164_error)
    else:
        fields.text("number", min_length=1, max_length=MAX_ADDRESS_LENGTH, before=without_plus)


def _media(fields: _Fields, *, captioned: bool) -> None:
    fields.text("url", required=True, min_length=1, max_length=MAX_URL_LENGTH, after=http_url_error)
    if captioned:  # images and files may carry a caption; audio and video may not
        fields.text("caption", min_length=1, max_length=MAX_CAPTION_LENGTH)


def _template(fields: _Fields) -> None:
    fields.text("name", required=True, min_length=1, max_length=MAX_TEMPLATE_NAME_LENGTH)
    fields.out["parameters"] = []  # the default, where the request gives none (null is refused)
    fields.array(
        "parameters",
        lambda parameter: parameter.text("default", required=True, max_length=MAX_TEMPLATE_PARAMETER_LENGTH),
        max_items=MAX_TEMPLATE_PARAMETERS,
        nullable=False,
    )


def _custom(fields: _Fields) -> None:
    def check(name: str, value: Any) -> Any:
        if not isinstance(value, dict):
            return fields._kept(name, value, "must be an object")
        if len(value) > MAX_CUSTOM_PROPERTIES:
            return fields._kept(name, value, f"must contain at most {count(MAX_CUSTOM_PROPERTIES, 'item')}")
        return fields._kept(name, value, custom_error(value))

    fields.take("custom", required=False, check=check)


def _content(fields: _Fields) -> None:
    fields.choice("type", CONTENT_TYPES, required=True)
    fields.text("text", min_length=1, max_length=MAX_TEXT_LENGTH)
    fields.object("image", lambda media: _media(media, captioned=True))
    fields.object("audio", lambda media: _media(media, captioned=False))
    fields.object("video", lambda media: _media(media, captioned=False))
    fields.object("file", lambda media: _media(media, captioned=True))
    fields.object("template", _template)
    _custom(fields)


def _viber(fields: _Fields) -> None:
    fields.choice("category", ("transaction", "promotion"))
    fields.integer("ttl", 30, 86400)


def _messenger(fields: _Fields) -> None:
    fields.choice("category", ("response", "update", "message_tag"))
    # Required with, and only with, category message_tag (see rule_errors).
    fields.text("tag", min_length=1, max_length=MAX_TAG_LENGTH)


def _whatsapp(fields: _Fields) -> None:
    fields.choice("policy", ("fallback", "deterministic"))
    fields.text("locale", max_length=MAX_LOCALE_LENGTH, after=locale_error)


def _message(fields: _Fields) -> None:
    fields.object("content", _content, required=True)
    fields.object("viber_service_msg", _viber)
    fields.object("messenger", _messenger)
    fields.object("whatsapp", _whatsapp)


def _step(fields: _Fields, *, min_expiry_time: int) -> None:
    fields.object("from", lambda endpoint: _endpoint(endpoint, recipient=False), required=True)
    fields.object("to", lambda endpoint: _endpoint(endpoint, recipient=True), required=True)
    fields.object("message", _message, required=True)

    def failover(failover: _Fields) -> None:
        # The lower bound is configurable (the service may not poll as often as every 15 s).
        failover.integer("expiry_time", min_expiry_time, MAX_EXPIRY_TIME, " seconds", required=True)
        failover.choice("condition_status", ("delivered", "read"), required=True)

    fields.object("failover", failover)


def _request(fields: _Fields, *, min_expiry_time: int, allow_http_loopback: bool) -> None:
    def callback_error(value: str) -> str | None:
        """https to a host that is not inward (dispatch.domain.destinations), except loopback,
        over http too, when the service runs locally."""
        try:
            check_callback_url(value, allow_loopback=allow_http_loopback)
        except ForbiddenDestination as error:
            return str(error)
        return None

    # Where status callbacks and the final report go (beyond Dispatch v0.1, which referenced a
    # callback it never declared); without it, the account's default callback URL is used.
    fields.text(
        "callback",
        min_length=1,
        max_length=MAX_URL_LENGTH,
        after=lambda url: http_url_error(url) or callback_error(url),
    )
    fields.choice("template", ("failover",), required=True)

    fields.array(
        "workflow",
        lambda step: _step(step, min_expiry_time=min_expiry_time),
        min_items=1,
        max_items=MAX_STEPS,
        noun="step",
        required=True,
    )


# --- parsing -------------------------------------------------------------------------------------


def parse_create_body(
    body: str | bytes | dict,
    *,
    min_expiry_time: int = DEFAULT_MIN_EXPIRY_TIME,
    allow_http_loopback_callback: bool = False,
) -> CreateBody:
    """Validate a create body and return it as a CreateBody.

    Raises BodyTooLarge for a body over MAX_BODY_BYTES, MalformedBody when the body is not a
    JSON object or nests deeper than MAX_BODY_DEPTH, and InvalidWorkflowRequest listing every
    invalid parameter otherwise, each as ("workflow[1].failover.expiry_time", "...").
    """
    data = load_json_object(body)
    errors: list[tuple[str, str]] = []
    fields = _Fields(errors, "", data)
    _request(fields, min_expiry_time=min_expiry_time, allow_http_loopback=allow_http_loopback_callback)
    errors += rule_errors(data)
    if errors:
        raise InvalidWorkflowRequest(merge(errors))
    return CreateBody(
        template=fields.out["template"], workflow=fields.out["workflow"], callback=fields.out.get("callback")
    )


def stored_message(step: dict[str, Any]) -> str:
    """What a workflow item keeps of a step to send it later (dispatch.domain.translate reads it):
    the step as validated, its failover settings left out."""
    message = {key: value for key, value in step.items() if key != "failover"}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def step_summary(step: dict[str, Any]) -> dict[str, Any]:
    """What a log line may say about a step: no addresses, no message content."""
    failover = step.get("failover") or {}
    return {
        "channel": step["from"]["type"],
        "content_type": step["message"]["content"]["type"],
        "condition_status": failover.get("condition_status"),
        "expiry_time": failover.get("expiry_time"),
    }


def load_json_object(body: str | bytes | dict) -> dict:
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


def rule_errors(data: dict) -> list[tuple[str, str]]:
    """The rules that span fields, as (name, reason) pairs.

    Works on raw input: anything of the wrong shape is skipped, as the field checks report it.
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
    # Raw input: a `type` may be an object or an array (unhashable), which the field checks report.
    channel, recipient_channel = _text(_obj(sender).get("type")), _text(_obj(recipient).get("type"))
    if channel not in CONTENT_TYPES_BY_CHANNEL:
        return errors  # the remaining rules depend on the channel; the field checks say why it is missing
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


def merge(errors: list[tuple[str, str]]) -> list[ParameterError]:
    """One entry per name (the first reason wins), top-level fields first, then step by step."""
    seen: dict[str, str] = {}
    for name, reason in errors:
        seen.setdefault(name, reason)

    def step_index(name: str) -> int:
        match = re.match(r"workflow\[(\d+)\]", name)
        return int(match.group(1)) if match else -1

    return [ParameterError(name, seen[name]) for name in sorted(seen, key=step_index)]
