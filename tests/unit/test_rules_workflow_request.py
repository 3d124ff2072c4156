"""Rules of the create body that the other validation tests leave unchecked
(dispatch.domain.workflow_request): callbacks under production settings, the exact limits, the
wording of each reason and the order in which a refusal lists them.

Each was found by mutation testing (`make mutation`): changing the rule broke no other test.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import BaseModel, Field, ValidationError

from dispatch.domain.create_body import json_depth
from dispatch.domain.errors import BodyTooLarge, InvalidWorkflowRequest, MalformedBody
from dispatch.domain.workflow_request import (
    WorkflowRequest,
    WorkflowStep,
    _reason,
    parse_workflow_request,
)

SMS = {
    "from": {"type": "sms", "number": "447700900000"},
    "to": {"type": "sms", "number": "447700900001"},
    "message": {"content": {"type": "text", "text": "hello"}},
}
MESSENGER = {
    "from": {"type": "messenger", "id": "PAGE_ID"},
    "to": {"type": "messenger", "id": "PSID0123456789"},
    "message": {"content": {"type": "text", "text": "hello"}},
    "failover": {"expiry_time": 600, "condition_status": "read"},
}


def body(*steps: dict, **fields: Any) -> dict:
    """A create body with the given steps (the canonical messenger-then-SMS one by default)."""
    return {"template": "failover", "workflow": copy.deepcopy(list(steps or (MESSENGER, SMS))), **fields}


ENDPOINTS = {
    "sms": ({"type": "sms", "number": "447700900000"}, {"type": "sms", "number": "447700900001"}),
    "whatsapp": (
        {"type": "whatsapp", "number": "447700900000"},
        {"type": "whatsapp", "number": "447700900001"},
    ),
    "messenger": ({"type": "messenger", "id": "PAGE_ID"}, {"type": "messenger", "id": "PSID0123456789"}),
    "viber_service_msg": (
        {"type": "viber_service_msg", "id": "VIBER_SERVICE_ID"},
        {"type": "viber_service_msg", "number": "447700900001"},
    ),
}


def single(channel: str = "sms", **content: Any) -> dict:
    """A one-step body on `channel` with text content, changed by `content`."""
    sender, recipient = ENDPOINTS[channel]
    step = {
        "from": sender,
        "to": recipient,
        "message": {"content": {"type": "text", "text": "hello", **content}},
    }
    return body(step)


def invalid_parameters_of(request_body: dict, **options: Any) -> list[dict[str, str]]:
    """The invalid parameters a refused body is reported with, in the order reported, as
    [{"name", "reason"}]. The only place that knows how a refusal is raised."""
    with pytest.raises(InvalidWorkflowRequest) as raised:
        parse_workflow_request(request_body, **options)
    return [{"name": name, "reason": reason} for name, reason in raised.value.errors]


def reason_for(request_body: dict, name: str, **options: Any) -> str:
    """The reason given for `name`, the only invalid parameter."""
    invalid = invalid_parameters_of(request_body, **options)
    assert [p["name"] for p in invalid] == [name], invalid
    return invalid[0]["reason"]


# -- callbacks: https only, unless the service runs locally --------------------------------------------


@pytest.mark.parametrize(
    "callback",
    ["http://127.0.0.1:8080/callbacks", "http://localhost/callbacks", "http://[::1]:8080/callbacks"],
)
def test_under_production_settings_an_http_callback_to_this_machine_is_refused(callback) -> None:
    # Given the settings a deployed service parses with (no option given)
    # When a body asks for callbacks over plain http to a loopback address
    reason = reason_for(body(callback=callback), "callback")
    # Then it is refused, and the reason does not suggest http is an option
    assert reason == "must use https"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_when_running_locally_an_http_callback_to_this_machine_is_accepted(host) -> None:
    callback = f"http://{host}:8080/callbacks"
    assert (
        parse_workflow_request(body(callback=callback), allow_http_loopback_callback=True).callback
        == callback
    )


def test_when_running_locally_the_reason_names_the_loopback_exception() -> None:
    reason = reason_for(body(callback="http://example.com/cb"), "callback", allow_http_loopback_callback=True)
    assert reason == "must use https (http only to 127.0.0.1 or localhost)"


def test_a_callback_url_may_have_2000_characters_but_not_2001() -> None:
    url = "https://example.com/" + "c" * 1980
    assert len(url) == 2000
    assert parse_workflow_request(body(callback=url)).callback == url
    assert reason_for(body(callback=url + "c"), "callback") == "must be at most 2000 characters"


def test_a_callback_that_is_not_a_url_is_reported_as_such() -> None:
    assert (
        reason_for(body(callback="ftp://example.com/x"), "callback")
        == "must be an absolute http or https URL"
    )


# -- exact limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "messenger"])
def test_a_one_character_text_is_accepted(channel) -> None:
    assert parse_workflow_request(single(channel, text="a")).workflow[0].message.content.text == "a"


def test_whatsapp_takes_4096_characters_and_refuses_4097_with_the_general_limit() -> None:
    parse_workflow_request(single("whatsapp", text="a" * 4096))
    reason = reason_for(single("whatsapp", text="a" * 4097), "workflow[0].message.content.text")
    assert reason == "must be at most 4096 characters"


def test_a_text_field_over_4096_characters_is_refused_whatever_the_content_type() -> None:
    # Given image content that also carries a (useless) text field of 4097 characters
    request = single("messenger", type="image", image={"url": "https://example.com/a.jpg"}, text="a" * 4097)
    # Then the text field's own limit still applies
    assert reason_for(request, "workflow[0].message.content.text") == "must be at most 4096 characters"


def test_the_recipient_number_schema_declares_its_length_and_the_e164_pattern() -> None:
    # Clients (and the fuzzer) read the format from the OpenAPI document, built from this schema
    number = WorkflowRequest.model_json_schema()["$defs"]["Recipient"]["properties"]["number"]
    [declared] = [option for option in number["anyOf"] if option.get("type") == "string"]
    assert (declared["maxLength"], declared["pattern"]) == (16, r"^\+?[1-9][0-9]{6,14}$")


def test_the_custom_content_schema_states_its_size_and_depth_limits() -> None:
    custom = WorkflowRequest.model_json_schema()["$defs"]["Content"]["properties"]["custom"]
    [declared] = [option for option in custom["anyOf"] if option.get("type") == "object"]
    assert declared["description"] == (
        "Sent as is (WhatsApp only): at most 65536 bytes of JSON, nested at most 32 levels deep"
    )


def test_a_one_character_template_name_is_accepted_and_an_empty_one_refused() -> None:
    request = single("whatsapp", type="template", template={"name": "a"})
    assert parse_workflow_request(request).workflow[0].message.content.template.name == "a"
    request["workflow"][0]["message"]["content"]["template"]["name"] = ""
    assert reason_for(request, "workflow[0].message.content.template.name") == "must not be empty"


def test_an_empty_messenger_tag_is_refused() -> None:
    request = single("messenger")
    request["workflow"][0]["message"]["messenger"] = {"category": "message_tag", "tag": ""}
    assert reason_for(request, "workflow[0].message.messenger.tag") == "must not be empty"


def test_a_body_one_byte_over_256_kib_is_too_large() -> None:
    raw = json.dumps(body(padding=""))
    raw = json.dumps(body(padding="x" * (256 * 1024 + 1 - len(raw))))
    assert len(raw.encode()) == 256 * 1024 + 1
    with pytest.raises(BodyTooLarge):
        parse_workflow_request(raw)


def test_a_body_nested_65_levels_deep_is_refused() -> None:
    with pytest.raises(MalformedBody) as raised:
        parse_workflow_request(json.dumps(body(extension=nested(64))))
    assert raised.value.detail == "The request body must not nest more than 64 levels deep."


# -- the wording of reasons ------------------------------------------------------------------------------


def test_a_value_outside_a_fixed_set_lists_the_allowed_values() -> None:
    assert reason_for(body(template="fallback"), "template") == "must be one of 'failover'"
    step = copy.deepcopy(SMS)
    step["from"]["type"] = "mms"
    assert (
        reason_for(body(step), "workflow[0].from.type")
        == "must be one of 'sms', 'viber_service_msg', 'messenger' or 'whatsapp'"
    )


def test_a_workflow_that_is_not_an_array_must_be_an_array() -> None:
    assert reason_for(body(workflow="steps"), "workflow") == "must be an array"


def test_an_empty_string_must_not_be_empty() -> None:
    assert reason_for(single(text=""), "workflow[0].message.content.text") == "must not be empty"


@pytest.mark.parametrize(
    ("channel", "options", "name", "reason"),
    [
        (
            "whatsapp",
            {"whatsapp": {"locale": "english"}},
            "whatsapp.locale",
            "must be a BCP 47 locale such as en-GB",
        ),
        (
            "viber_service_msg",
            {"viber_service_msg": {"ttl": 29}},
            "viber_service_msg.ttl",
            "must be between 30 and 86400",
        ),
    ],
)
def test_option_reasons_say_what_is_expected(channel, options, name, reason) -> None:
    request = single(channel)
    request["workflow"][0]["message"].update(options)
    assert reason_for(request, f"workflow[0].message.{name}") == reason


def test_an_expiry_out_of_range_gives_the_range_in_seconds() -> None:
    first = copy.deepcopy(MESSENGER)
    first["failover"]["expiry_time"] = 14
    assert (
        reason_for(body(first, SMS), "workflow[0].failover.expiry_time")
        == "must be between 15 and 86400 seconds"
    )


class _Limits(BaseModel):
    code: str = Field(min_length=3)
    items: list[int] = Field(min_length=1, max_length=2)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"code": "ab", "items": [1]}, "must be at least 3 characters"),
        ({"code": "abc", "items": []}, "must contain at least 1 item"),
        ({"code": "abc", "items": [1, 2, 3]}, "must contain at most 2 items"),
    ],
)
def test_limits_no_current_field_has_are_worded_too(data, reason) -> None:
    # Fields added later get readable reasons: a minimum above one character, a list of items.
    with pytest.raises(ValidationError) as raised:
        _Limits.model_validate(data)
    [error] = raised.value.errors(include_url=False, include_input=False, include_context=True)
    assert _reason(error) == reason


# -- how a refusal lists its parameters ---------------------------------------------------------------


def test_a_refusal_lists_top_level_parameters_first_then_each_step_in_order() -> None:
    # Given errors in the body itself, in step 1 (found while checking fields) and in step 0
    # (found by the cross-field rules, which run after the field checks)
    first = copy.deepcopy(MESSENGER)
    del first["to"]["id"]  # a rule: messenger needs to.id
    last = copy.deepcopy(SMS)
    last["message"]["content"]["text"] = ""  # a field check
    # When the body is parsed
    invalid = invalid_parameters_of(body(first, last, template="fallback"))
    # Then the parameters come top-level first, then step by step
    assert [p["name"] for p in invalid] == [
        "template",
        "workflow[0].to.id",
        "workflow[1].message.content.text",
    ]


def test_a_parameter_is_listed_once_with_the_first_reason_found() -> None:
    # Given messenger text over both the general 4096 limit and messenger's own 640
    request = single("messenger", text="a" * 5000)
    # Then the field check's reason is the one given, once
    assert invalid_parameters_of(request) == [
        {"name": "workflow[0].message.content.text", "reason": "must be at most 4096 characters"}
    ]


# -- URLs: an empty one is empty, a short one is not a URL -------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"), [("", "must not be empty"), ("x", "must be an absolute http or https URL")]
)
def test_an_empty_or_one_character_media_url_is_refused_with_the_reason_that_fits(url, reason) -> None:
    request = single("messenger", type="image", image={"url": url})
    assert reason_for(request, "workflow[0].message.content.image.url") == reason


@pytest.mark.parametrize(
    ("url", "reason"), [("", "must not be empty"), ("x", "must be an absolute http or https URL")]
)
def test_an_empty_or_one_character_callback_is_refused_with_the_reason_that_fits(url, reason) -> None:
    assert reason_for(body(callback=url), "callback") == reason


# -- models built directly (by code, not from a request) ---------------------------------------------


def test_a_request_model_built_directly_enforces_the_channel_rules_too() -> None:
    # Given a body whose only fault is a rule between fields: a messenger sender, an SMS recipient
    first = copy.deepcopy(MESSENGER)
    first["to"] = {"type": "sms", "number": "447700900001"}
    # When the model is built directly; Then the rule is enforced, naming the parameter
    with pytest.raises(ValidationError) as raised:
        WorkflowRequest.model_validate(body(first, SMS))
    [error] = raised.value.errors()
    assert error["msg"] == "workflow[0].to.type must be the same as from.type"


@pytest.mark.parametrize("model", [WorkflowStep, WorkflowRequest])
def test_a_model_validation_error_never_quotes_the_input(model) -> None:
    # Given a step whose recipient number is invalid (a send task validates stored steps with these
    # models; its error would reach the logs and the execution history)
    step = copy.deepcopy(SMS)
    step["to"]["number"] = "0447700900999"
    data = step if model is WorkflowStep else body(step)
    # When it is validated; Then the error names the field but not the number
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    assert "number" in str(raised.value)
    assert "0447700900999" not in str(raised.value)


def test_a_request_model_built_directly_refuses_http_callbacks_to_this_machine() -> None:
    # Given no validation context at all (code building the model itself): production rules
    with pytest.raises(ValidationError) as raised:
        WorkflowRequest.model_validate(body(callback="http://127.0.0.1:8080/callbacks"))
    assert "must use https" in str(raised.value)


# -- more reasons, word for word ---------------------------------------------------------------------


def test_a_recipient_number_that_is_not_e164_says_what_e164_is() -> None:
    request = single()
    request["workflow"][0]["to"]["number"] = "00447700900001"
    assert reason_for(request, "workflow[0].to.number") == (
        "must be an E.164 phone number: 7 to 15 digits starting with the country code"
        " (a leading + is dropped), without a leading 00"
    )


@pytest.mark.parametrize(
    ("raw", "detail"),
    [("{", "The request body is not valid JSON."), ("[]", "The request body must be a JSON object.")],
)
def test_a_body_that_is_not_a_json_object_is_a_bad_request_that_says_so(raw, detail) -> None:
    with pytest.raises(MalformedBody) as raised:
        parse_workflow_request(raw)
    assert raised.value.detail == detail


def test_failover_on_the_last_step_says_there_is_nothing_to_fail_over_to() -> None:
    last = {**copy.deepcopy(SMS), "failover": {"expiry_time": 60, "condition_status": "delivered"}}
    assert (
        reason_for(body(last), "workflow[0].failover")
        == "must not be set on the last step: there is nothing to fail over to"
    )


def test_an_unsupported_content_type_lists_what_the_channel_supports() -> None:
    request = single("viber_service_msg", type="audio", audio={"url": "https://example.com/a.mp3"})
    del request["workflow"][0]["message"]["content"]["text"]
    assert (
        reason_for(request, "workflow[0].message.content.type")
        == "is not supported on the viber_service_msg channel (supported: text, image)"
    )


@pytest.mark.parametrize("channel_type", [{}, [], {"sms": 1}])
def test_a_channel_type_that_is_an_object_or_array_is_refused_not_a_crash(channel_type) -> None:
    # Raw input reaches the cross-field rules too: an unhashable `type` must not break them.
    step = copy.deepcopy(SMS)
    step["from"]["type"] = channel_type
    step["to"]["type"] = channel_type
    names = [p["name"] for p in invalid_parameters_of(body(step))]
    assert names == ["workflow[0].from.type", "workflow[0].to.type"]


def test_within_a_step_parameters_are_listed_in_the_order_they_were_found() -> None:
    # Given a step with a field fault (empty text) and a rule fault (a failover on the last step)
    last = {**copy.deepcopy(SMS), "failover": {"expiry_time": 60, "condition_status": "delivered"}}
    last["message"]["content"]["text"] = ""
    # Then field checks, which run first, come first
    assert [p["name"] for p in invalid_parameters_of(body(last))] == [
        "workflow[0].message.content.text",
        "workflow[0].failover",
    ]


# -- found by the run of 2026-11-29 -----------------------------------------------------------------


def nested(depth: int) -> dict:
    """An object nested `depth` levels deep ({"a": {"a": ... {} }})."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("value", "depth"), [("text", 0), (7, 0), ({}, 1), ([[[]], 1], 3), ({"a": 1, "b": {"c": [2]}}, 3)]
)
def test_the_nesting_depth_of_json_counts_arrays_and_objects_and_not_scalars(value, depth) -> None:
    assert json_depth(value) == depth


def test_a_body_nested_exactly_64_levels_deep_is_accepted() -> None:
    # The body object is level 1, so its extension adds 63 more
    assert parse_workflow_request(json.dumps(body(extension=nested(63))))


def test_a_body_of_exactly_256_kib_is_accepted() -> None:
    raw = json.dumps(body(padding=""))
    raw = json.dumps(body(padding="x" * (256 * 1024 - len(raw))))
    assert len(raw.encode()) == 256 * 1024
    assert parse_workflow_request(raw)


def test_custom_content_of_exactly_64_kib_of_json_is_accepted() -> None:
    sender, recipient = ENDPOINTS["whatsapp"]
    custom = {"blob": ""}
    custom["blob"] = "x" * (64 * 1024 - len(json.dumps(custom, separators=(",", ":"))))
    step = {"from": sender, "to": recipient, "message": {"content": {"type": "custom", "custom": custom}}}
    assert parse_workflow_request(body(step)).workflow[0].message.content.custom == custom


def test_a_sender_loses_a_leading_plus_before_a_digit_whatever_follows() -> None:
    request = body(SMS | {"from": {"type": "sms", "number": "+4U"}})
    assert parse_workflow_request(request).workflow[0].from_.number == "4U"
