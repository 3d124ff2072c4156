"""Validation of the Dispatch v0.1 create body (dispatch.domain.workflow_request)."""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from dispatch.api.examples import example_workflow
from dispatch.api.resolver import problem_for
from dispatch.domain.create_body import (
    MAX_BODY_BYTES,
    MAX_BODY_DEPTH,
    MAX_CUSTOM_BYTES,
    MAX_CUSTOM_DEPTH,
    MAX_CUSTOM_PROPERTIES,
    MAX_STEPS,
    MAX_TEMPLATE_NAME_LENGTH,
    MAX_TEMPLATE_PARAMETER_LENGTH,
    MAX_TEMPLATE_PARAMETERS,
    parse_create_body,
    step_summary,
)
from dispatch.domain.errors import BodyTooLarge, InvalidWorkflowRequest, MalformedBody
from dispatch.domain.workflow_request import (
    WorkflowRequest,
    WorkflowStep,
    parse_workflow_request,
)

SECRET_TEXT = "Your one-time code is 918273"

# The project's one example body (dispatch/api/example_workflow.json): Messenger, then SMS to PHONE.
CANONICAL = example_workflow()
PHONE = CANONICAL["workflow"][1]["to"]["number"]

# A valid (from, to) pair per channel.
ENDPOINTS = {
    "messenger": ({"type": "messenger", "id": "FB_PAGE_ID"}, {"type": "messenger", "id": "PSID0123456789"}),
    "viber_service_msg": (
        {"type": "viber_service_msg", "id": "VIBER_SERVICE_ID"},
        {"type": "viber_service_msg", "number": PHONE},
    ),
    "sms": ({"type": "sms", "number": "447700900000"}, {"type": "sms", "number": PHONE}),
    "whatsapp": ({"type": "whatsapp", "number": "447700900000"}, {"type": "whatsapp", "number": PHONE}),
}
CHANNELS = list(ENDPOINTS)

# A valid content object per content type.
CONTENTS = {
    "text": {"type": "text", "text": "hello"},
    "image": {"type": "image", "image": {"url": "https://example.com/image.jpg"}},
    "audio": {"type": "audio", "audio": {"url": "https://example.com/audio.mp3"}},
    "video": {"type": "video", "video": {"url": "https://example.com/video.mp4"}},
    "file": {"type": "file", "file": {"url": "https://example.com/file.pdf"}},
    "template": {"type": "template", "template": {"name": "verify", "parameters": [{"default": "1234"}]}},
    "custom": {"type": "custom", "custom": {"type": "interactive", "interactive": {"type": "button"}}},
}
SUPPORTED = {
    "messenger": {"text", "image", "audio", "video", "file"},
    "viber_service_msg": {"text", "image"},
    "whatsapp": {"template", "text", "image", "audio", "video", "file", "custom"},
    "sms": {"text"},
}
CHANNEL_CONTENT_PAIRS = [(channel, content_type) for channel in CHANNELS for content_type in CONTENTS]


# --- helpers --------------------------------------------------------------------------------------


def make_step(channel: str = "sms", content_type: str = "text", failover: dict | None = None) -> dict:
    sender, recipient = ENDPOINTS[channel]
    step = {
        "from": copy.deepcopy(sender),
        "to": copy.deepcopy(recipient),
        "message": {"content": copy.deepcopy(CONTENTS[content_type])},
    }
    if failover is not None:
        step["failover"] = failover
    return step


def single_step_body(channel: str = "sms", content_type: str = "text") -> dict:
    """A one-step workflow: the step is the last one, so it carries no failover."""
    return {"template": "failover", "workflow": [make_step(channel, content_type)]}


def two_step_body(first_channel: str = "messenger", condition_status: str = "read") -> dict:
    """A failover from `first_channel` to sms: the first step is the one with `failover`."""
    failover = {"expiry_time": 600, "condition_status": condition_status}
    return {
        "template": "failover",
        "workflow": [make_step(first_channel, failover=failover), make_step("sms")],
    }


def canonical() -> dict:
    return copy.deepcopy(CANONICAL)


def invalid_parameters(body, **kwargs) -> dict[str, str]:
    """Parse `body`, expecting a 400; return its invalid parameters as {name: reason}."""
    with pytest.raises(InvalidWorkflowRequest) as raised:
        parse_workflow_request(body, **kwargs)
    problem = problem_for(raised.value)
    assert problem.status == 400
    assert problem.type.endswith("#invalid-params")
    names = [name for name, _ in raised.value.errors]
    assert len(names) == len(set(names)), "one entry per parameter"
    return dict(raised.value.errors)


def assert_only_invalid(body, name: str, **kwargs) -> str:
    """Exactly one parameter is invalid, `name`; return its reason."""
    invalid = invalid_parameters(body, **kwargs)
    assert list(invalid) == [name], invalid
    return invalid[name]


# --- the canonical example and body decoding ------------------------------------------------------


def test_given_the_canonical_messenger_then_sms_body_when_parsed_then_both_steps_are_kept():
    # When
    request = parse_workflow_request(json.dumps(CANONICAL))

    # Then
    assert isinstance(request, WorkflowRequest)
    assert request.template == "failover"
    first, last = request.workflow
    assert isinstance(first, WorkflowStep)
    assert first.channel == "messenger"
    assert (first.from_.id, first.to.id) == ("MY_PAGE_ID", "4200000000000001")
    assert first.message.content.type == "text"
    assert first.failover.expiry_time == 15
    assert first.failover.condition_status == "read"
    assert last.channel == "sms"
    assert (last.from_.number, last.to.number) == ("447700900000", PHONE)
    assert last.failover is None


@pytest.mark.parametrize("encode", [json.dumps, lambda body: json.dumps(body).encode(), lambda body: body])
def test_given_the_body_as_str_bytes_or_dict_when_parsed_then_it_is_accepted(encode):
    assert parse_workflow_request(encode(canonical())).workflow[1].to.number == PHONE


def test_given_a_parsed_request_when_dumped_by_alias_then_it_uses_the_json_field_names():
    request = parse_workflow_request(canonical())
    dumped = request.model_dump(by_alias=True, exclude_none=True)
    assert dumped["workflow"][0]["from"] == {"type": "messenger", "id": "MY_PAGE_ID"}


def test_given_a_dict_body_when_parsed_then_the_callers_dict_is_not_modified():
    body = canonical()
    parse_workflow_request(body)
    assert body == CANONICAL


@pytest.mark.parametrize("raw", ["{", "not json", b"\xff\xfe\xfa", "", "{'template': 'failover'}"])
def test_given_invalid_json_when_parsed_then_400_bad_request(raw):
    with pytest.raises(MalformedBody) as raised:
        parse_workflow_request(raw)
    problem = problem_for(raised.value)
    assert problem.status == 400
    assert "invalid_parameters" not in problem.body()


@pytest.mark.parametrize("raw", ["[]", "null", '"failover"', "42", "true"])
def test_given_json_that_is_not_an_object_when_parsed_then_400_bad_request(raw):
    with pytest.raises(MalformedBody) as raised:
        parse_workflow_request(raw)
    assert problem_for(raised.value).status == 400
    assert "object" in raised.value.detail


def test_given_unknown_fields_everywhere_when_parsed_then_they_are_ignored():
    # Given: forward-compatible extras
    body = canonical()
    body["future_top_level"] = {"x": 1}
    step = body["workflow"][0]
    step["priority"] = "high"
    step["from"]["name"] = "Shop"
    step["message"]["content"]["buttons"] = []
    step["failover"]["retries"] = 3

    # When / Then
    request = parse_workflow_request(body)
    assert "future_top_level" not in request.model_dump()
    assert "priority" not in request.workflow[0].model_dump()


@pytest.mark.parametrize(
    ("callback", "local", "valid"),
    [
        ("https://example.com/callback", False, True),
        ("http://example.com/callback", False, False),
        ("http://127.0.0.1:8080/callback", False, False),
        ("http://127.0.0.1:8080/callback", True, True),
        ("http://localhost/callback", True, True),
        ("http://192.168.1.10/callback", True, False),
        ("ftp://example.com/callback", True, False),
        # Aimed inward: refused in production, whatever the scheme.
        ("https://127.0.0.1/callback", False, False),
        ("https://localhost:8443/callback", False, False),
        ("https://169.254.169.254/latest/meta-data/", False, False),
        ("https://169.254.169.254/latest/meta-data/", True, False),
        ("https://10.1.2.3/callback", False, False),
        ("https://[::1]/callback", False, False),
        ("https://[fe80::1%25eth0]/callback", False, False),
        ("https://0177.0.0.1/callback", False, False),
        ("https://127.0.0.1/callback", True, True),
        ("not a url", False, False),
    ],
)
def test_given_a_callback_when_parsed_then_only_https_or_local_loopback_is_accepted(callback, local, valid):
    body = {**canonical(), "callback": callback}
    if valid:
        assert parse_workflow_request(body, allow_http_loopback_callback=local).callback == callback
    else:
        with pytest.raises(InvalidWorkflowRequest) as raised:
            parse_workflow_request(body, allow_http_loopback_callback=local)
        assert [name for name, _ in raised.value.errors] == ["callback"]


# --- template and workflow ------------------------------------------------------------------------


def test_given_no_template_when_parsed_then_template_is_required():
    body = canonical()
    del body["template"]
    assert assert_only_invalid(body, "template") == "is required"


@pytest.mark.parametrize("template", ["", "fallback", "FAILOVER", None, 1, ["failover"]])
def test_given_a_template_other_than_failover_when_parsed_then_template_is_invalid(template):
    body = canonical()
    body["template"] = template
    assert "failover" in assert_only_invalid(body, "template")


def test_given_no_workflow_when_parsed_then_workflow_is_required():
    assert assert_only_invalid({"template": "failover"}, "workflow") == "is required"


@pytest.mark.parametrize("workflow", [{}, "steps", 1, None])
def test_given_a_workflow_that_is_not_an_array_when_parsed_then_workflow_is_invalid(workflow):
    assert assert_only_invalid({"template": "failover", "workflow": workflow}, "workflow")


def test_given_an_empty_workflow_when_parsed_then_it_needs_at_least_one_step():
    reason = assert_only_invalid({"template": "failover", "workflow": []}, "workflow")
    assert reason == "must contain at least 1 step"


def test_given_a_single_step_without_failover_when_parsed_then_it_is_a_plain_send():
    request = parse_workflow_request(single_step_body("whatsapp"))
    assert [step.channel for step in request.workflow] == ["whatsapp"]


def test_given_ten_steps_when_parsed_then_it_is_accepted():
    failover = {"expiry_time": 60, "condition_status": "delivered"}
    steps = [make_step("sms", failover=failover) for _ in range(9)] + [make_step("sms")]
    assert len(parse_workflow_request({"template": "failover", "workflow": steps}).workflow) == 10


def test_given_eleven_steps_when_parsed_then_workflow_is_too_long_and_says_the_limit():
    failover = {"expiry_time": 60, "condition_status": "delivered"}
    steps = [make_step("sms", failover=failover) for _ in range(10)] + [make_step("sms")]
    reason = assert_only_invalid({"template": "failover", "workflow": steps}, "workflow")
    assert reason == "must contain at most 10 steps"


@pytest.mark.parametrize("step", [None, "sms", 1, []])
def test_given_a_step_that_is_not_an_object_when_parsed_then_that_step_is_invalid(step):
    body = canonical()
    body["workflow"][1] = step
    assert assert_only_invalid(body, "workflow[1]") == "must be an object"


@pytest.mark.parametrize("field", ["from", "to", "message"])
def test_given_a_step_without_a_required_field_when_parsed_then_that_field_is_required(field):
    body = canonical()
    del body["workflow"][1][field]
    assert assert_only_invalid(body, f"workflow[1].{field}") == "is required"


# --- failover placement ---------------------------------------------------------------------------


@pytest.mark.parametrize("failover", ["absent", None])
def test_given_a_step_before_the_last_without_failover_when_parsed_then_failover_is_required(failover):
    body = canonical()
    if failover == "absent":
        del body["workflow"][0]["failover"]
    else:
        body["workflow"][0]["failover"] = failover
    assert assert_only_invalid(body, "workflow[0].failover") == "is required on every step but the last"


def test_given_the_last_step_with_failover_when_parsed_then_failover_is_not_allowed():
    body = canonical()
    body["workflow"][1]["failover"] = {"expiry_time": 600, "condition_status": "delivered"}
    assert "last step" in assert_only_invalid(body, "workflow[1].failover")


def test_given_a_single_step_with_failover_when_parsed_then_failover_is_not_allowed():
    body = single_step_body()
    body["workflow"][0]["failover"] = {"expiry_time": 600, "condition_status": "delivered"}
    assert "last step" in assert_only_invalid(body, "workflow[0].failover")


def test_given_the_last_step_with_a_null_failover_when_parsed_then_it_counts_as_absent():
    body = canonical()
    body["workflow"][1]["failover"] = None
    assert parse_workflow_request(body).workflow[1].failover is None


def test_given_a_middle_step_without_failover_when_parsed_then_only_that_step_is_reported():
    # Given: three steps, the middle one missing its failover
    failover = {"expiry_time": 60, "condition_status": "delivered"}
    body = {
        "template": "failover",
        "workflow": [make_step("whatsapp", failover=failover), make_step("sms"), make_step("sms")],
    }
    # Then
    assert assert_only_invalid(body, "workflow[1].failover")


# --- endpoints ------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["from", "to"])
def test_given_an_endpoint_without_type_when_parsed_then_type_is_required(side):
    body = canonical()
    del body["workflow"][1][side]["type"]
    invalid = invalid_parameters(body)
    assert invalid[f"workflow[1].{side}.type"] == "is required"


@pytest.mark.parametrize("channel_type", ["mms", "viber", "facebook", "SMS", "", 3])
def test_given_an_unknown_channel_type_when_parsed_then_type_lists_the_channels(channel_type):
    body = canonical()
    body["workflow"][1]["from"]["type"] = channel_type
    body["workflow"][1]["to"]["type"] = channel_type
    invalid = invalid_parameters(body)
    for side in ("from", "to"):
        reason = invalid[f"workflow[1].{side}.type"]
        for channel in CHANNELS:
            assert channel in reason


@pytest.mark.parametrize("side", ["from", "to"])
@pytest.mark.parametrize("endpoint", ["sms", 1, [], None])
def test_given_an_endpoint_that_is_not_an_object_when_parsed_then_it_is_invalid(side, endpoint):
    body = canonical()
    body["workflow"][1][side] = endpoint
    assert assert_only_invalid(body, f"workflow[1].{side}") == "must be an object"


@pytest.mark.parametrize("from_channel", CHANNELS)
@pytest.mark.parametrize("to_channel", CHANNELS)
def test_given_from_and_to_types_when_they_differ_then_to_type_must_match(from_channel, to_channel):
    # Given: the whole step is valid for `from_channel`, except maybe to.type
    body = single_step_body(from_channel)
    body["workflow"][0]["to"]["type"] = to_channel

    # When / Then
    if from_channel == to_channel:
        assert parse_workflow_request(body).workflow[0].channel == from_channel
    else:
        assert assert_only_invalid(body, "workflow[0].to.type") == "must be the same as from.type"


@pytest.mark.parametrize(
    ("channel", "side", "field"),
    [
        ("messenger", "from", "id"),
        ("messenger", "to", "id"),
        ("viber_service_msg", "from", "id"),
        ("viber_service_msg", "to", "number"),
        ("sms", "from", "number"),
        ("sms", "to", "number"),
        ("whatsapp", "from", "number"),
        ("whatsapp", "to", "number"),
    ],
)
def test_given_a_channel_when_its_address_field_is_missing_then_it_is_required(channel, side, field):
    body = single_step_body(channel)
    del body["workflow"][0][side][field]
    reason = assert_only_invalid(body, f"workflow[0].{side}.{field}")
    assert reason == f"is required for the {channel} channel"


@pytest.mark.parametrize("side", ["from", "to"])
@pytest.mark.parametrize("field", ["id", "number"])
def test_given_an_id_or_number_that_is_not_a_string_when_parsed_then_it_is_invalid(side, field):
    body = single_step_body("messenger")
    body["workflow"][0][side][field] = 447700900001
    assert assert_only_invalid(body, f"workflow[0].{side}.{field}") == "must be a string"


@pytest.mark.parametrize("side", ["from", "to"])
@pytest.mark.parametrize(("value", "valid"), [("", False), ("x", True), ("x" * 50, True), ("x" * 51, False)])
def test_given_an_id_when_its_length_is_checked_then_1_to_50_characters_are_allowed(side, value, valid):
    body = single_step_body("messenger")
    body["workflow"][0][side]["id"] = value
    if valid:
        parse_workflow_request(body)
    else:
        assert assert_only_invalid(body, f"workflow[0].{side}.id")


@pytest.mark.parametrize("number", ["1234567", "447700900001", "123456789012345", "12025550123"])
@pytest.mark.parametrize("channel", ["sms", "viber_service_msg", "whatsapp"])
def test_given_an_e164_recipient_number_when_parsed_then_it_is_accepted(channel, number):
    body = single_step_body(channel)
    body["workflow"][0]["to"]["number"] = number
    assert parse_workflow_request(body).workflow[0].to.number == number


@pytest.mark.parametrize(
    "number",
    [
        "+",  # a + alone
        "++447700900001",
        "+0447700900001",  # a + is dropped, but the number must still start with a country code
        "00447700900001",  # leading 00
        "07700900001",  # national format
        "123456",  # too short
        "1234567890123456",  # too long
        "44 7700 900001",  # spaces
        "44-7700-900001",
        "44770090000a",
        "\u0664\u0664\u0667\u0667\u0660\u0660\u0669\u0660\u0660\u0660\u0660\u0661",  # Arabic-Indic digits
        "447700900001\n",
        "",
    ],
)
@pytest.mark.parametrize("channel", ["sms", "viber_service_msg", "whatsapp"])
def test_given_a_recipient_number_that_is_not_e164_when_parsed_then_it_is_invalid(channel, number):
    body = single_step_body(channel)
    body["workflow"][0]["to"]["number"] = number
    reason = assert_only_invalid(body, "workflow[0].to.number")
    assert "E.164" in reason


@pytest.mark.parametrize("channel", ["sms", "viber_service_msg", "whatsapp"])
def test_given_a_number_with_a_leading_plus_when_parsed_then_the_plus_is_dropped(channel):
    # Given E.164 numbers written the usual way, with a leading + (the Messages API takes none)
    body = single_step_body(channel)
    body["workflow"][0]["to"]["number"] = "+" + PHONE
    if "number" in body["workflow"][0]["from"]:
        body["workflow"][0]["from"]["number"] = "+447700900000"
    # When parsed
    step = parse_workflow_request(body).workflow[0]
    # Then both are kept without it (and so sent, and stored, without it)
    assert step.to.number == PHONE
    if step.from_.number is not None:
        assert step.from_.number == "447700900000"


def test_given_a_number_of_15_digits_with_a_plus_when_parsed_then_it_fits_the_50_character_limits():
    body = single_step_body("sms")
    body["workflow"][0]["to"]["number"] = "+" + "4" * 15
    assert parse_workflow_request(body).workflow[0].to.number == "4" * 15


@pytest.mark.parametrize("sender", ["447700900000", "MyShop", "Acme Ltd.", "x", "x" * 50, "+Shop"])
def test_given_an_sms_sender_id_or_number_of_1_to_50_characters_when_parsed_then_it_is_accepted(sender):
    body = single_step_body("sms")
    body["workflow"][0]["from"]["number"] = sender
    assert parse_workflow_request(body).workflow[0].from_.number == sender


@pytest.mark.parametrize("sender", ["", "x" * 51])
def test_given_an_sms_sender_outside_1_to_50_characters_when_parsed_then_from_number_is_invalid(sender):
    body = single_step_body("sms")
    body["workflow"][0]["from"]["number"] = sender
    assert assert_only_invalid(body, "workflow[0].from.number")


# --- content --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "content_type"), CHANNEL_CONTENT_PAIRS)
def test_given_each_channel_and_content_type_when_parsed_then_only_supported_pairs_pass(
    channel, content_type
):
    body = single_step_body(channel, content_type)
    if content_type in SUPPORTED[channel]:
        assert parse_workflow_request(body).workflow[0].message.content.type == content_type
    else:
        reason = assert_only_invalid(body, "workflow[0].message.content.type")
        assert reason.startswith(f"is not supported on the {channel} channel")
        for supported in SUPPORTED[channel]:
            assert supported in reason


@pytest.mark.parametrize("content_type", ["location", "vcard", "TEXT", "", None, 1])
def test_given_an_unknown_content_type_when_parsed_then_content_type_is_invalid(content_type):
    body = single_step_body("whatsapp")
    body["workflow"][0]["message"]["content"]["type"] = content_type
    reason = assert_only_invalid(body, "workflow[0].message.content.type")
    assert "template" in reason and "custom" in reason


def test_given_content_without_type_when_parsed_then_content_type_is_required():
    body = single_step_body()
    del body["workflow"][0]["message"]["content"]["type"]
    assert assert_only_invalid(body, "workflow[0].message.content.type") == "is required"


@pytest.mark.parametrize("message", [{}, {"content": None}, {"text": "hi"}])
def test_given_a_message_without_content_when_parsed_then_content_is_required(message):
    body = single_step_body()
    body["workflow"][0]["message"] = message
    assert assert_only_invalid(body, "workflow[0].message.content")


@pytest.mark.parametrize(
    ("channel", "content_type"),
    [(channel, content_type) for channel in CHANNELS for content_type in sorted(SUPPORTED[channel])],
)
def test_given_a_content_type_when_its_payload_is_missing_then_the_payload_is_required(channel, content_type):
    body = single_step_body(channel, content_type)
    del body["workflow"][0]["message"]["content"][content_type]
    reason = assert_only_invalid(body, f"workflow[0].message.content.{content_type}")
    assert reason == f"is required when content.type is {content_type}"


@pytest.mark.parametrize(
    ("channel", "limit"), [("messenger", 640), ("sms", 1000), ("viber_service_msg", 1000), ("whatsapp", 4096)]
)
def test_given_text_when_it_reaches_the_channel_limit_then_it_passes_and_one_more_fails(channel, limit):
    # Given: text exactly at the limit
    body = single_step_body(channel)
    body["workflow"][0]["message"]["content"]["text"] = "a" * limit
    parse_workflow_request(body)

    # When: one character more
    body["workflow"][0]["message"]["content"]["text"] = "a" * (limit + 1)

    # Then
    reason = assert_only_invalid(body, "workflow[0].message.content.text")
    assert reason.startswith(f"must be at most {limit} characters")


def test_given_text_when_it_uses_multibyte_characters_then_the_limit_counts_characters():
    body = single_step_body("messenger")
    body["workflow"][0]["message"]["content"]["text"] = "é" * 640
    parse_workflow_request(body)


@pytest.mark.parametrize("text", ["", 42, None])
def test_given_empty_or_non_string_text_when_parsed_then_text_is_invalid(text):
    body = single_step_body()
    body["workflow"][0]["message"]["content"]["text"] = text
    assert assert_only_invalid(body, "workflow[0].message.content.text")


def test_given_text_when_the_content_type_is_not_text_then_the_text_limit_does_not_apply():
    body = single_step_body("messenger", "image")
    body["workflow"][0]["message"]["content"]["text"] = "a" * 1000
    parse_workflow_request(body)


MEDIA_PAIRS = [
    (channel, content_type)
    for channel in CHANNELS
    for content_type in ("image", "audio", "video", "file")
    if content_type in SUPPORTED[channel]
]


@pytest.mark.parametrize(("channel", "content_type"), MEDIA_PAIRS)
@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a",
        "https://example.com/media?id=1",
        "HTTPS://EXAMPLE.COM/A",
        "https://e.co/" + "a" * 1987,
    ],
)
def test_given_an_http_or_https_media_url_up_to_2000_characters_when_parsed_then_it_is_accepted(
    channel, content_type, url
):
    assert len(url) <= 2000
    body = single_step_body(channel, content_type)
    body["workflow"][0]["message"]["content"][content_type]["url"] = url
    media = getattr(parse_workflow_request(body).workflow[0].message.content, content_type)
    assert media.url == url


@pytest.mark.parametrize(("channel", "content_type"), MEDIA_PAIRS)
@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/image.jpg",
        "/image.jpg",
        "ftp://example.com/image.jpg",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://",
        "http://[::1",
        "https://e.co/" + "a" * 1988,  # 2001 characters
        7,
    ],
)
def test_given_a_media_url_that_is_not_http_or_too_long_when_parsed_then_url_is_invalid(
    channel, content_type, url
):
    body = single_step_body(channel, content_type)
    body["workflow"][0]["message"]["content"][content_type]["url"] = url
    assert assert_only_invalid(body, f"workflow[0].message.content.{content_type}.url")


@pytest.mark.parametrize(("channel", "content_type"), MEDIA_PAIRS)
def test_given_media_without_url_when_parsed_then_url_is_required(channel, content_type):
    body = single_step_body(channel, content_type)
    body["workflow"][0]["message"]["content"][content_type] = {}
    assert assert_only_invalid(body, f"workflow[0].message.content.{content_type}.url") == "is required"


@pytest.mark.parametrize("content_type", ["image", "file"])
@pytest.mark.parametrize(
    ("caption", "valid"), [("c", True), ("c" * 3000, True), ("", False), ("c" * 3001, False)]
)
def test_given_an_image_or_file_caption_when_parsed_then_1_to_3000_characters_are_allowed(
    content_type, caption, valid
):
    body = single_step_body("whatsapp", content_type)
    body["workflow"][0]["message"]["content"][content_type]["caption"] = caption
    if valid:
        media = getattr(parse_workflow_request(body).workflow[0].message.content, content_type)
        assert media.caption == caption
    else:
        assert assert_only_invalid(body, f"workflow[0].message.content.{content_type}.caption")


@pytest.mark.parametrize("content_type", ["audio", "video"])
def test_given_a_caption_on_audio_or_video_when_parsed_then_it_is_ignored_as_unknown(content_type):
    body = single_step_body("messenger", content_type)
    body["workflow"][0]["message"]["content"][content_type]["caption"] = "c"
    media = getattr(parse_workflow_request(body).workflow[0].message.content, content_type)
    assert not hasattr(media, "caption")


def test_given_a_template_with_parameters_when_parsed_then_name_and_defaults_are_kept():
    body = single_step_body("whatsapp", "template")
    template = parse_workflow_request(body).workflow[0].message.content.template
    assert template.name == "verify"
    assert [parameter.default for parameter in template.parameters] == ["1234"]


def test_given_a_template_without_parameters_when_parsed_then_parameters_default_to_empty():
    body = single_step_body("whatsapp", "template")
    del body["workflow"][0]["message"]["content"]["template"]["parameters"]
    assert parse_workflow_request(body).workflow[0].message.content.template.parameters == []


@pytest.mark.parametrize(
    ("template", "name"),
    [
        ({"parameters": []}, "template.name"),
        ({"name": ""}, "template.name"),
        ({"name": 5}, "template.name"),
        ({"name": "verify", "parameters": {"default": "1"}}, "template.parameters"),
        ({"name": "verify", "parameters": [{"default": "1"}, {}]}, "template.parameters[1].default"),
        ({"name": "verify", "parameters": [{"default": 1234}]}, "template.parameters[0].default"),
        ({"name": "verify", "parameters": ["1234"]}, "template.parameters[0]"),
    ],
)
def test_given_an_invalid_template_when_parsed_then_the_template_field_is_named(template, name):
    body = single_step_body("whatsapp", "template")
    body["workflow"][0]["message"]["content"]["template"] = template
    assert assert_only_invalid(body, f"workflow[0].message.content.{name}")


@pytest.mark.parametrize("custom", ["text", [], 1])
def test_given_custom_content_that_is_not_an_object_when_parsed_then_custom_is_invalid(custom):
    body = single_step_body("whatsapp", "custom")
    body["workflow"][0]["message"]["content"]["custom"] = custom
    assert assert_only_invalid(body, "workflow[0].message.content.custom") == "must be an object"


# --- channel options ------------------------------------------------------------------------------


def with_options(channel: str, key: str, options) -> dict:
    body = single_step_body(channel)
    body["workflow"][0]["message"][key] = options
    return body


@pytest.mark.parametrize(
    "options",
    [{}, {"category": "transaction"}, {"category": "promotion", "ttl": 30}, {"ttl": 86400}],
)
def test_given_valid_viber_options_when_parsed_then_they_are_kept(options):
    message = parse_workflow_request(
        with_options("viber_service_msg", "viber_service_msg", options)
    ).workflow[0]
    assert message.message.viber_service_msg.model_dump(exclude_none=True) == options


@pytest.mark.parametrize(
    ("options", "name", "reason_part"),
    [
        ({"category": "marketing"}, "category", "transaction"),
        ({"ttl": 29}, "ttl", "between 30 and 86400"),
        ({"ttl": 86401}, "ttl", "between 30 and 86400"),
        ({"ttl": "600"}, "ttl", "integer"),
        ({"ttl": 600.0}, "ttl", "integer"),
        ({"ttl": True}, "ttl", "integer"),
    ],
)
def test_given_invalid_viber_options_when_parsed_then_the_option_is_named(options, name, reason_part):
    body = with_options("viber_service_msg", "viber_service_msg", options)
    assert reason_part in assert_only_invalid(body, f"workflow[0].message.viber_service_msg.{name}")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"category": "response"},
        {"category": "update"},
        {"category": "message_tag", "tag": "CONFIRMED_EVENT_UPDATE"},
    ],
)
def test_given_valid_messenger_options_when_parsed_then_they_are_kept(options):
    step = parse_workflow_request(with_options("messenger", "messenger", options)).workflow[0]
    assert step.message.messenger.model_dump(exclude_none=True) == options


def test_given_messenger_category_message_tag_without_tag_when_parsed_then_tag_is_required():
    body = with_options("messenger", "messenger", {"category": "message_tag"})
    reason = assert_only_invalid(body, "workflow[0].message.messenger.tag")
    assert reason == "is required when category is message_tag"


@pytest.mark.parametrize("options", [{"category": "response", "tag": "X"}, {"tag": "X"}])
def test_given_a_messenger_tag_without_category_message_tag_when_parsed_then_tag_is_not_allowed(options):
    body = with_options("messenger", "messenger", options)
    reason = assert_only_invalid(body, "workflow[0].message.messenger.tag")
    assert reason == "is only allowed when category is message_tag"


@pytest.mark.parametrize("category", ["MESSAGE_TAG", "promotion", 1])
def test_given_an_unknown_messenger_category_when_parsed_then_category_is_invalid(category):
    body = with_options("messenger", "messenger", {"category": category})
    assert "message_tag" in assert_only_invalid(body, "workflow[0].message.messenger.category")


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"policy": "fallback"},
        {"policy": "deterministic", "locale": "en-GB"},
        {"locale": "en"},
        {"locale": "pt_BR"},
        {"locale": "zh-Hant-TW"},
    ],
)
def test_given_valid_whatsapp_options_when_parsed_then_they_are_kept(options):
    step = parse_workflow_request(with_options("whatsapp", "whatsapp", options)).workflow[0]
    assert step.message.whatsapp.model_dump(exclude_none=True) == options


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"policy": "strict"}, "policy"),
        ({"locale": "english"}, "locale"),
        ({"locale": "e"}, "locale"),
        ({"locale": "en-"}, "locale"),
        ({"locale": "en GB"}, "locale"),
        ({"locale": ""}, "locale"),
        ({"locale": 44}, "locale"),
    ],
)
def test_given_invalid_whatsapp_options_when_parsed_then_the_option_is_named(options, name):
    body = with_options("whatsapp", "whatsapp", options)
    assert assert_only_invalid(body, f"workflow[0].message.whatsapp.{name}")


@pytest.mark.parametrize("key", ["viber_service_msg", "messenger", "whatsapp"])
def test_given_channel_options_that_are_not_objects_when_parsed_then_they_are_invalid(key):
    body = with_options("sms", key, "yes")
    assert assert_only_invalid(body, f"workflow[0].message.{key}") == "must be an object"


# --- failover -------------------------------------------------------------------------------------


def with_failover(failover, channel: str = "messenger") -> dict:
    body = two_step_body(channel)
    body["workflow"][0]["failover"] = failover
    return body


@pytest.mark.parametrize("expiry_time", [15, 16, 600, 86400])
def test_given_an_expiry_time_from_15_to_86400_seconds_when_parsed_then_it_is_accepted(expiry_time):
    body = with_failover({"expiry_time": expiry_time, "condition_status": "delivered"})
    assert parse_workflow_request(body).workflow[0].failover.expiry_time == expiry_time


@pytest.mark.parametrize("expiry_time", [-1, 0, 14, 86401, 10**12])
def test_given_an_expiry_time_out_of_range_when_parsed_then_the_reason_gives_the_range(expiry_time):
    body = with_failover({"expiry_time": expiry_time, "condition_status": "delivered"})
    reason = assert_only_invalid(body, "workflow[0].failover.expiry_time")
    assert reason == "must be between 15 and 86400 seconds"


@pytest.mark.parametrize("expiry_time", [True, False, 600.0, 600.5, "600", [600], {"s": 600}])
def test_given_an_expiry_time_that_is_not_a_json_integer_when_parsed_then_it_must_be_an_integer(expiry_time):
    body = with_failover({"expiry_time": expiry_time, "condition_status": "delivered"})
    assert assert_only_invalid(body, "workflow[0].failover.expiry_time") == "must be an integer"


def test_given_a_float_expiry_time_in_raw_json_when_parsed_then_it_must_be_an_integer():
    raw = json.dumps(canonical()).replace('"expiry_time": 15', '"expiry_time": 15.0')
    assert "15.0" in raw
    assert assert_only_invalid(raw, "workflow[0].failover.expiry_time") == "must be an integer"


@pytest.mark.parametrize(("expiry_time", "valid"), [(59, False), (60, True)])
def test_given_a_configured_minimum_expiry_time_when_parsed_then_it_is_the_lower_bound(expiry_time, valid):
    body = with_failover({"expiry_time": expiry_time, "condition_status": "delivered"})
    if valid:
        parse_workflow_request(body, min_expiry_time=60)
    else:
        reason = assert_only_invalid(body, "workflow[0].failover.expiry_time", min_expiry_time=60)
        assert reason == "must be between 60 and 86400 seconds"


@pytest.mark.parametrize("field", ["expiry_time", "condition_status"])
def test_given_a_failover_without_a_field_when_parsed_then_that_field_is_required(field):
    failover = {"expiry_time": 600, "condition_status": "read"}
    del failover[field]
    body = with_failover(failover)
    assert assert_only_invalid(body, f"workflow[0].failover.{field}") == "is required"


@pytest.mark.parametrize("failover", ["600", 600, []])
def test_given_a_failover_that_is_not_an_object_when_parsed_then_failover_is_invalid(failover):
    assert assert_only_invalid(with_failover(failover), "workflow[0].failover") == "must be an object"


@pytest.mark.parametrize("condition_status", ["submitted", "rejected", "READ", "", None])
def test_given_an_unknown_condition_status_when_parsed_then_it_lists_delivered_and_read(condition_status):
    body = with_failover({"expiry_time": 600, "condition_status": condition_status})
    reason = assert_only_invalid(body, "workflow[0].failover.condition_status")
    assert "delivered" in reason and "read" in reason


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("condition_status", ["delivered", "read"])
def test_given_a_condition_status_when_parsed_then_every_channel_accepts_it_sms_read_included(
    channel, condition_status
):
    # Vonage's own SMS-to-SMS example waits for `read`: on SMS, `delivered` reaches it.
    body = two_step_body(channel, condition_status)
    assert parse_workflow_request(body).workflow[0].failover.condition_status == condition_status


# --- limits of what would otherwise be unbounded -------------------------------------------------


def nested(depth: int) -> dict:
    """An object nested `depth` levels deep ({"a": {"a": ... {} }})."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def with_content(content: dict, channel: str = "whatsapp") -> dict:
    body = single_step_body(channel)
    body["workflow"][0]["message"]["content"] = content
    return body


def test_given_custom_content_within_its_limits_when_parsed_then_it_is_kept_as_is():
    custom = {"type": "interactive", "deep": nested(MAX_CUSTOM_DEPTH - 1), "blob": "x" * 60_000}
    request = parse_workflow_request(with_content({"type": "custom", "custom": custom}))
    assert request.workflow[0].message.content.custom == custom


@pytest.mark.parametrize(
    ("custom", "reason"),
    [
        ({"blob": "x" * MAX_CUSTOM_BYTES}, f"must be at most {MAX_CUSTOM_BYTES} bytes of JSON"),
        ({"deep": nested(MAX_CUSTOM_DEPTH)}, f"must not nest more than {MAX_CUSTOM_DEPTH} levels deep"),
        ({"deep": nested(50)}, f"must not nest more than {MAX_CUSTOM_DEPTH} levels deep"),
        ({f"k{n}": n for n in range(MAX_CUSTOM_PROPERTIES + 1)}, "must contain at most 100 items"),
    ],
    ids=["64 KiB", "33 levels", "50 levels", "101 properties"],
)
def test_given_custom_content_beyond_its_limits_when_parsed_then_custom_is_invalid(custom, reason):
    body = with_content({"type": "custom", "custom": custom})
    assert assert_only_invalid(body, "workflow[0].message.content.custom") == reason


@pytest.mark.parametrize(
    ("template", "name", "reason"),
    [
        ({"name": "n" * (MAX_TEMPLATE_NAME_LENGTH + 1)}, "template.name", "must be at most 512 characters"),
        (
            {"name": "verify", "parameters": [{"default": "1"}] * (MAX_TEMPLATE_PARAMETERS + 1)},
            "template.parameters",
            "must contain at most 100 items",
        ),
        (
            {"name": "verify", "parameters": [{"default": "d" * (MAX_TEMPLATE_PARAMETER_LENGTH + 1)}]},
            "template.parameters[0].default",
            "must be at most 1024 characters",
        ),
    ],
    ids=["name", "parameters", "parameter"],
)
def test_given_a_template_beyond_its_limits_when_parsed_then_it_is_invalid(template, name, reason):
    body = with_content({"type": "template", "template": template})
    assert assert_only_invalid(body, f"workflow[0].message.content.{name}") == reason


def test_given_a_template_at_its_limits_when_parsed_then_it_is_accepted():
    template = {
        "name": "n" * MAX_TEMPLATE_NAME_LENGTH,
        "parameters": [{"default": "d" * MAX_TEMPLATE_PARAMETER_LENGTH}] * MAX_TEMPLATE_PARAMETERS,
    }
    request = parse_workflow_request(with_content({"type": "template", "template": template}))
    assert len(request.workflow[0].message.content.template.parameters) == MAX_TEMPLATE_PARAMETERS


def test_given_a_messenger_tag_or_a_whatsapp_locale_too_long_when_parsed_then_it_is_invalid():
    messenger = single_step_body("messenger")
    messenger["workflow"][0]["message"]["messenger"] = {"category": "message_tag", "tag": "T" * 101}
    whatsapp = single_step_body("whatsapp")
    whatsapp["workflow"][0]["message"]["whatsapp"] = {"locale": "en" + "-abcdefgh" * 4}
    assert (
        assert_only_invalid(messenger, "workflow[0].message.messenger.tag")
        == "must be at most 100 characters"
    )
    assert (
        assert_only_invalid(whatsapp, "workflow[0].message.whatsapp.locale")
        == "must be at most 35 characters"
    )


def test_given_a_body_over_the_size_limit_when_parsed_then_it_is_a_413_problem():
    body = json.dumps(canonical() | {"padding": "x" * MAX_BODY_BYTES})
    with pytest.raises(BodyTooLarge) as raised:
        parse_workflow_request(body)
    problem = problem_for(raised.value)
    assert (problem.status, problem.title) == (413, "Payload too large")
    assert str(MAX_BODY_BYTES) in problem.detail


@pytest.mark.parametrize("depth", [256, 999])
def test_given_custom_content_hundreds_of_levels_deep_when_parsed_then_it_is_a_400_problem(depth):
    # Written out by hand: json.dumps itself cannot go this deep
    deep = '{"a":' * (depth - 1) + "{}" + "}" * (depth - 1)
    body = json.dumps(with_content({"type": "custom", "custom": "DEEP"})).replace('"DEEP"', deep)
    with pytest.raises(MalformedBody) as raised:
        parse_workflow_request(body)
    problem = problem_for(raised.value)
    assert (problem.status, problem.detail) == (
        400,
        f"The request body must not nest more than {MAX_BODY_DEPTH} levels deep.",
    )


def test_given_a_body_nested_too_deep_in_an_unknown_field_when_parsed_then_it_is_a_400_problem():
    # Unknown fields are ignored, but they are parsed (and an idempotent create hashes them)
    body = json.dumps(canonical() | {"extension": nested(MAX_BODY_DEPTH)})
    with pytest.raises(MalformedBody) as raised:
        parse_workflow_request(body)
    problem = problem_for(raised.value)
    assert problem.status == 400
    assert "nest" in problem.detail


def test_given_the_largest_body_within_every_limit_when_stored_then_it_fits_a_dynamodb_item():
    # Ten WhatsApp steps, each as large as its content may be, in a body just under the limit
    custom = {"blob": "é" * 12_000}  # 2 bytes per character: 24 KB of JSON each
    step = make_step("whatsapp", "custom", {"expiry_time": 600, "condition_status": "read"})
    step["message"]["content"]["custom"] = custom
    body = {"template": "failover", "workflow": [copy.deepcopy(step) for _ in range(MAX_STEPS)]}
    del body["workflow"][-1]["failover"]
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert MAX_BODY_BYTES * 0.9 < len(raw) <= MAX_BODY_BYTES
    # When it is parsed and made into the workflow item
    request = parse_workflow_request(raw)
    messages = [s.model_dump_json(by_alias=True, exclude_none=True) for s in request.workflow]
    # Then what it stores is well under DynamoDB's 400 KB item limit
    assert sum(len(m.encode()) for m in messages) < 300 * 1024


# --- reporting ------------------------------------------------------------------------------------


def test_given_many_errors_across_steps_when_parsed_then_every_one_is_listed_once():
    # Given: field errors and cross-field errors in every part of the body
    body = {
        "callback": "https://example.com/cb",
        "workflow": [
            {
                "from": {"type": "sms"},
                "to": {"type": "whatsapp", "number": "00" + PHONE},
                "message": {"content": {"type": "image", "image": {"url": "ftp://x"}}},
                "failover": {"expiry_time": True, "condition_status": "read"},
            },
            {
                "from": {"type": "messenger", "id": ""},
                "to": {"type": "messenger", "id": "PSID"},
                "message": {"content": {"type": "text", "text": "a" * 641}, "messenger": {"tag": "X"}},
            },
            {
                "from": {"type": "whatsapp", "number": "447700900000"},
                "to": {"type": "whatsapp", "number": PHONE},
                "message": {"content": {"type": "template", "template": {}}},
                "failover": {"expiry_time": 600, "condition_status": "read"},
            },
        ],
    }

    # When
    invalid = invalid_parameters(body)

    # Then
    assert set(invalid) == {
        "template",
        "workflow[0].from.number",
        "workflow[0].to.type",
        "workflow[0].to.number",
        "workflow[0].message.content.type",
        "workflow[0].message.content.image.url",
        "workflow[0].failover.expiry_time",
        "workflow[1].from.id",
        "workflow[1].failover",
        "workflow[1].message.content.text",
        "workflow[1].message.messenger.tag",
        "workflow[2].message.content.template.name",
        "workflow[2].failover",
    }
    assert all(reason for reason in invalid.values())


def test_given_errors_in_several_steps_when_reported_then_they_come_in_step_order():
    body = canonical()
    body["workflow"][1]["to"]["number"] = "+1"
    body["workflow"][0]["failover"]["expiry_time"] = 1
    del body["template"]
    names = list(invalid_parameters(body))
    assert names == ["template", "workflow[0].failover.expiry_time", "workflow[1].to.number"]


def test_given_an_invalid_step_when_reported_then_names_use_from_not_the_python_attribute():
    body = canonical()
    body["workflow"][0]["from"]["id"] = ""
    assert list(invalid_parameters(body)) == ["workflow[0].from.id"]


def test_given_invalid_personal_data_when_reported_then_no_value_is_echoed():
    # Given: text over the limit and malformed numbers built from the secrets
    body = canonical()
    secret_text = SECRET_TEXT * 100
    body["workflow"][0]["message"]["content"]["text"] = secret_text
    body["workflow"][1]["to"]["number"] = "+" + PHONE
    body["workflow"][1]["from"]["number"] = "7" * 60
    body["workflow"][1]["message"]["content"] = {"type": "image", "image": {"url": "ftp://" + PHONE}}

    # When
    with pytest.raises(InvalidWorkflowRequest) as raised:
        parse_workflow_request(body)

    # Then: neither the problem body nor the exception chain carries the values
    error = raised.value
    problem = problem_for(error)
    assert problem.status == 400
    dumped = json.dumps(problem.body())
    for secret in (SECRET_TEXT, PHONE, "7" * 60):
        assert secret not in dumped
        assert secret not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None


def test_given_invalid_json_containing_personal_data_when_reported_then_nothing_is_echoed():
    with pytest.raises(MalformedBody) as raised:
        parse_workflow_request('{"to": "' + PHONE + '", ')
    assert PHONE not in json.dumps(problem_for(raised.value).body())
    assert raised.value.__cause__ is None


def test_given_a_body_valid_field_by_field_when_model_validated_directly_then_cross_field_rules_still_apply():
    # Given: a first step without failover, which only the cross-field rules catch
    body = canonical()
    del body["workflow"][0]["failover"]

    # When / Then
    with pytest.raises(ValidationError) as raised:
        WorkflowRequest.model_validate(body)
    assert "workflow[0].failover" in str(raised.value)


def test_given_no_context_when_model_validated_directly_then_the_default_minimum_expiry_time_applies():
    body = with_failover({"expiry_time": 14, "condition_status": "read"})
    with pytest.raises(ValidationError):
        WorkflowRequest.model_validate(body)
    body["workflow"][0]["failover"]["expiry_time"] = 15
    WorkflowRequest.model_validate(body)


def test_given_a_step_built_with_the_python_name_when_constructed_then_from_is_populated():
    step = WorkflowStep(
        from_={"type": "sms", "number": "447700900000"},
        to={"type": "sms", "number": PHONE},
        message={"content": {"type": "text", "text": "hi"}},
    )
    assert step.from_.number == "447700900000"
    assert step.channel == "sms"


# --- step_summary ---------------------------------------------------------------------------------


def test_given_a_step_with_failover_when_summarised_then_only_non_personal_fields_are_returned():
    first, _ = parse_create_body(canonical()).workflow
    assert step_summary(first) == {
        "channel": "messenger",
        "content_type": "text",
        "condition_status": "read",
        "expiry_time": 15,
    }


def test_given_the_last_step_when_summarised_then_failover_fields_are_none():
    _, last = parse_create_body(canonical()).workflow
    summary = step_summary(last)
    assert summary == {
        "channel": "sms",
        "content_type": "text",
        "condition_status": None,
        "expiry_time": None,
    }
    assert PHONE not in json.dumps(summary)


@pytest.mark.parametrize(
    ("channel", "content_type"), [pair for pair in CHANNEL_CONTENT_PAIRS if pair[1] in SUPPORTED[pair[0]]]
)
def test_given_any_step_when_summarised_then_it_names_channel_and_content_type(channel, content_type):
    step = parse_create_body(single_step_body(channel, content_type)).workflow[0]
    assert step_summary(step) == {
        "channel": channel,
        "content_type": content_type,
        "condition_status": None,
        "expiry_time": None,
    }
