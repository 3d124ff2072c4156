"""Translation of a Dispatch v0.1 step into a Messages API v1 send body (dispatch.domain.translate)."""

from __future__ import annotations

import json

import pytest

from dispatch.api.examples import example_workflow
from dispatch.domain.create_body import parse_create_body, stored_message
from dispatch.domain.translate import to_messages_request

PAGE_ID, PSID = "FB_PAGE_ID", "PSID0123456789"
VIBER_ID = "VIBER_SERVICE_ID"
SENDER, RECIPIENT = "447700900000", "447700900001"
CLIENT_REF = "dispatch-uuid:0"
WEBHOOK_URL = "https://api.example.com/v0.1/webhooks/status"

ENDPOINTS = {
    "messenger": ({"type": "messenger", "id": PAGE_ID}, {"type": "messenger", "id": PSID}),
    "viber_service_msg": (
        {"type": "viber_service_msg", "id": VIBER_ID},
        {"type": "viber_service_msg", "number": RECIPIENT},
    ),
    "sms": ({"type": "sms", "number": SENDER}, {"type": "sms", "number": RECIPIENT}),
    "whatsapp": ({"type": "whatsapp", "number": SENDER}, {"type": "whatsapp", "number": RECIPIENT}),
}
# The v1 channel and the (from, to) strings each channel is addressed with.
V1_ADDRESSING = {
    "messenger": ("messenger", PAGE_ID, PSID),
    "viber_service_msg": ("viber_service", VIBER_ID, RECIPIENT),
    "sms": ("sms", SENDER, RECIPIENT),
    "whatsapp": ("whatsapp", SENDER, RECIPIENT),
}

# (v0.1 content, the v1 fields it becomes), per content type.
CONTENT_CASES = {
    "text": ({"type": "text", "text": "hello"}, {"text": "hello"}),
    "image": (
        {"type": "image", "image": {"url": "https://example.com/i.jpg"}},
        {"image": {"url": "https://example.com/i.jpg"}},
    ),
    "audio": (
        {"type": "audio", "audio": {"url": "https://example.com/a.mp3"}},
        {"audio": {"url": "https://example.com/a.mp3"}},
    ),
    "video": (
        {"type": "video", "video": {"url": "https://example.com/v.mp4"}},
        {"video": {"url": "https://example.com/v.mp4"}},
    ),
    "file": (
        {"type": "file", "file": {"url": "https://example.com/f.pdf"}},
        {"file": {"url": "https://example.com/f.pdf"}},
    ),
    "template": (
        {
            "type": "template",
            "template": {"name": "verify", "parameters": [{"default": "1234"}, {"default": "10"}]},
        },
        {
            "template": {"name": "verify", "parameters": ["1234", "10"]},
            "whatsapp": {"policy": "deterministic", "locale": "en_US"},
        },
    ),
    "custom": (
        {"type": "custom", "custom": {"type": "interactive", "interactive": {"type": "button"}}},
        {"custom": {"type": "interactive", "interactive": {"type": "button"}}},
    ),
}
SUPPORTED = {
    "messenger": ("text", "image", "audio", "video", "file"),
    "viber_service_msg": ("text", "image"),
    "whatsapp": ("template", "text", "image", "audio", "file", "custom"),
    "sms": ("text",),
}
SUPPORTED_PAIRS = [(channel, content_type) for channel, types in SUPPORTED.items() for content_type in types]


def parse_step(channel: str, content: dict, **message_options) -> dict:
    """Build a step through the public parser, so it is valid the way a real request is, and
    read it back as a workflow item stores it."""
    sender, recipient = ENDPOINTS[channel]
    step = {"from": sender, "to": recipient, "message": {"content": content, **message_options}}
    return stored(parse_create_body({"template": "failover", "workflow": [step]}).workflow[0])


def stored(step) -> dict:
    return json.loads(stored_message(step))


def translate(step: dict, webhook_url: str | None = WEBHOOK_URL) -> dict:
    return to_messages_request(step, client_ref=CLIENT_REF, webhook_url=webhook_url)


# --- every channel x content type -----------------------------------------------------------------


@pytest.mark.parametrize(("channel", "content_type"), SUPPORTED_PAIRS)
def test_given_each_supported_channel_and_content_type_when_translated_then_the_v1_body_is_exact(
    channel, content_type
):
    # Given
    content, v1_content = CONTENT_CASES[content_type]
    step = parse_step(channel, content)
    v1_channel, sender, recipient = V1_ADDRESSING[channel]

    # When
    body = translate(step)

    # Then
    assert body == {
        "channel": v1_channel,
        "message_type": content_type,
        "to": recipient,
        "from": sender,
        "client_ref": CLIENT_REF,
        "webhook_url": WEBHOOK_URL,
        "webhook_version": "v1",
        **v1_content,
    }
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize(("channel", "content_type"), SUPPORTED_PAIRS)
def test_given_no_webhook_url_when_translated_then_webhook_url_is_omitted(channel, content_type):
    body = translate(parse_step(channel, CONTENT_CASES[content_type][0]), webhook_url=None)
    assert "webhook_url" not in body
    assert body["webhook_version"] == "v1"
    assert body["client_ref"] == CLIENT_REF


@pytest.mark.parametrize("channel", list(ENDPOINTS))
def test_given_a_channel_when_translated_then_to_and_from_are_plain_strings(channel):
    body = translate(parse_step(channel, CONTENT_CASES["text"][0]))
    v1_channel, sender, recipient = V1_ADDRESSING[channel]
    assert (body["channel"], body["from"], body["to"]) == (v1_channel, sender, recipient)


def test_given_a_viber_service_msg_step_when_translated_then_the_v1_channel_is_viber_service():
    assert translate(parse_step("viber_service_msg", CONTENT_CASES["text"][0]))["channel"] == "viber_service"


def test_given_the_canonical_workflow_when_each_step_is_translated_then_messenger_then_sms():
    # Given: the project's example body (dispatch/api/example_workflow.json)
    first, last = parse_create_body(example_workflow()).workflow

    # When
    bodies = [
        to_messages_request(stored(step), client_ref=f"wf-1:{index}", webhook_url=None)
        for index, step in enumerate((first, last))
    ]

    # Then: failover settings are ours, not the Messages API's, so they are not sent
    assert bodies == [
        {
            "channel": "messenger",
            "message_type": "text",
            "to": "4200000000000001",
            "from": "MY_PAGE_ID",
            "client_ref": "wf-1:0",
            "webhook_version": "v1",
            "text": "Your order has shipped! Tap to track it.",
        },
        {
            "channel": "sms",
            "message_type": "text",
            "to": "447700900123",
            "from": "447700900000",
            "client_ref": "wf-1:1",
            "webhook_version": "v1",
            "text": "Your order has shipped!",
        },
    ]


# --- media captions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "content_type"),
    [
        ("messenger", "image"),
        ("messenger", "file"),
        ("viber_service_msg", "image"),
        ("whatsapp", "image"),
        ("whatsapp", "file"),
    ],
)
def test_given_an_image_or_file_with_caption_when_translated_then_the_caption_is_kept(channel, content_type):
    content = {
        "type": content_type,
        content_type: {"url": "https://example.com/m", "caption": "Your receipt"},
    }
    body = translate(parse_step(channel, content))
    assert body[content_type] == {"url": "https://example.com/m", "caption": "Your receipt"}


@pytest.mark.parametrize("content_type", ["audio", "video"])
def test_given_audio_or_video_with_a_caption_when_translated_then_only_the_url_is_sent(content_type):
    content = {"type": content_type, content_type: {"url": "https://example.com/m", "caption": "ignored"}}
    body = translate(parse_step("messenger", content))
    assert body[content_type] == {"url": "https://example.com/m"}


def test_given_text_content_with_stray_media_when_translated_then_only_the_text_is_sent():
    content = {"type": "text", "text": "hi", "image": {"url": "https://example.com/i.jpg"}}
    body = translate(parse_step("messenger", content))
    assert body["text"] == "hi"
    assert "image" not in body


# --- whatsapp templates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (None, {"policy": "deterministic", "locale": "en_US"}),
        ({}, {"policy": "deterministic", "locale": "en_US"}),
        ({"policy": "fallback"}, {"policy": "fallback", "locale": "en_US"}),
        ({"locale": "en-GB"}, {"policy": "deterministic", "locale": "en_GB"}),
        ({"policy": "fallback", "locale": "pt_BR"}, {"policy": "fallback", "locale": "pt_BR"}),
        ({"locale": "zh-Hant-TW"}, {"policy": "deterministic", "locale": "zh_Hant_TW"}),
        ({"locale": "de"}, {"policy": "deterministic", "locale": "de"}),
    ],
)
def test_given_a_whatsapp_template_when_translated_then_policy_and_locale_are_v1_style(options, expected):
    extra = {} if options is None else {"whatsapp": options}
    step = parse_step("whatsapp", CONTENT_CASES["template"][0], **extra)
    assert translate(step)["whatsapp"] == expected


def test_given_a_template_without_parameters_when_translated_then_parameters_is_an_empty_list():
    step = parse_step("whatsapp", {"type": "template", "template": {"name": "welcome"}})
    assert translate(step)["template"] == {"name": "welcome", "parameters": []}


@pytest.mark.parametrize("content_type", ["text", "image", "audio", "file", "custom"])
def test_given_whatsapp_options_on_a_non_template_message_when_translated_then_no_whatsapp_block(
    content_type,
):
    step = parse_step(
        "whatsapp", CONTENT_CASES[content_type][0], whatsapp={"policy": "fallback", "locale": "en-GB"}
    )
    assert "whatsapp" not in translate(step)


# --- channel options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"category": "response"}, {"messenger": {"category": "response"}}),
        ({"category": "update"}, {"messenger": {"category": "update"}}),
        (
            {"category": "message_tag", "tag": "CONFIRMED_EVENT_UPDATE"},
            {"messenger": {"category": "message_tag", "tag": "CONFIRMED_EVENT_UPDATE"}},
        ),
        ({}, {}),
    ],
)
def test_given_messenger_options_when_translated_then_they_become_the_messenger_block(options, expected):
    body = translate(parse_step("messenger", CONTENT_CASES["text"][0], messenger=options))
    assert {key: body[key] for key in ("messenger",) if key in body} == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"category": "transaction", "ttl": 600}, {"viber_service": {"category": "transaction", "ttl": 600}}),
        ({"category": "promotion"}, {"viber_service": {"category": "promotion"}}),
        ({"ttl": 30}, {"viber_service": {"ttl": 30}}),
        ({}, {}),
    ],
)
def test_given_viber_options_when_translated_then_they_become_the_viber_service_block(options, expected):
    body = translate(parse_step("viber_service_msg", CONTENT_CASES["text"][0], viber_service_msg=options))
    assert "viber_service_msg" not in body
    assert {key: body[key] for key in ("viber_service",) if key in body} == expected


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "viber_service_msg", "messenger"])
def test_given_options_for_other_channels_when_translated_then_they_are_left_out(channel):
    # Given: every channel's options on one step; only its own may reach the v1 body
    options = {
        "messenger": {"category": "update"},
        "viber_service_msg": {"category": "transaction", "ttl": 600},
        "whatsapp": {"policy": "fallback"},
    }
    body = translate(parse_step(channel, CONTENT_CASES["text"][0], **options))

    # Then
    own = {"messenger": {"messenger"}, "viber_service_msg": {"viber_service"}}.get(channel, set())
    assert {"messenger", "viber_service", "viber_service_msg", "whatsapp"} & set(body) == own


# --- client_ref -----------------------------------------------------------------------------------


def test_given_a_client_ref_of_100_characters_when_translated_then_it_is_sent_as_is():
    step = parse_step("sms", CONTENT_CASES["text"][0])
    assert to_messages_request(step, client_ref="r" * 100, webhook_url=None)["client_ref"] == "r" * 100


def test_given_a_client_ref_over_100_characters_when_translated_then_it_is_refused():
    step = parse_step("sms", CONTENT_CASES["text"][0])
    with pytest.raises(ValueError, match="client_ref"):
        to_messages_request(step, client_ref="r" * 101, webhook_url=None)


def test_given_a_step_when_translated_twice_then_the_bodies_are_independent():
    # Given: mutating one body (e.g. a custom payload) must not leak into the step or the next body
    step = parse_step("whatsapp", CONTENT_CASES["custom"][0])
    first = translate(step)
    first["custom"]["type"] = "changed"

    # Then
    assert translate(step)["custom"]["type"] == "interactive"


def test_a_stored_template_without_parameters_is_sent_with_none() -> None:
    # Steps stored before parameters defaulted to [] in the item (or written by hand) still send.
    step = {
        "from": {"type": "whatsapp", "number": "447700900000"},
        "to": {"type": "whatsapp", "number": "447700900001"},
        "message": {"content": {"type": "template", "template": {"name": "otp"}}},
    }
    body = to_messages_request(step, client_ref=CLIENT_REF, webhook_url=None)
    assert body["template"] == {"name": "otp", "parameters": []}


def test_a_stored_step_of_an_unknown_content_type_is_refused_by_name() -> None:
    step = {
        "from": {"type": "sms", "number": "Acme"},
        "to": {"type": "sms", "number": "447700900001"},
        "message": {"content": {"type": "hologram"}},
    }
    with pytest.raises(ValueError, match="^unknown content type 'hologram'$"):
        to_messages_request(step, client_ref=CLIENT_REF, webhook_url=None)
