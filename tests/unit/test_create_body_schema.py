"""The create function's parser (dispatch.domain.create_body.parse_create_body, plain Python) and
the documented models (dispatch.domain.workflow_request.parse_workflow_request, pydantic) give
the same answer for generated bodies: valid ones of every channel and content type, then the same
with fields removed, emptied, lengthened or given values of other types, at any depth.

Every body the other tests parse is compared the same way (tests/unit/conftest.py); this test
reaches the combinations they do not spell out.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import assert_read_alike, assert_refused_alike
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dispatch.domain.create_body import parse_create_body, stored_message
from dispatch.domain.errors import BodyTooLarge, InvalidWorkflowRequest, MalformedBody
from dispatch.domain.workflow_request import parse_workflow_request

ENDPOINTS = {
    "messenger": ({"type": "messenger", "id": "PAGE_ID"}, {"type": "messenger", "id": "4200000000000001"}),
    "viber_service_msg": (
        {"type": "viber_service_msg", "id": "12345"},
        {"type": "viber_service_msg", "number": "447700900001"},
    ),
    "whatsapp": (
        {"type": "whatsapp", "number": "447700900000"},
        {"type": "whatsapp", "number": "+447700900001"},
    ),
    "sms": ({"type": "sms", "number": "Acme"}, {"type": "sms", "number": "447700900001"}),
}
CONTENTS = [
    {"type": "text", "text": "Hello"},
    {"type": "image", "image": {"url": "https://example.com/a.png", "caption": "A"}},
    {"type": "audio", "audio": {"url": "https://example.com/a.mp3"}},
    {"type": "video", "video": {"url": "http://example.com/a.mp4"}},
    {"type": "file", "file": {"url": "https://example.com/a.pdf"}},
    {"type": "template", "template": {"name": "t", "parameters": [{"default": "x"}, {"default": ""}]}},
    {"type": "custom", "custom": {"type": "text", "text": {"body": "hi"}}},
]
OPTIONS = [
    {},
    {"messenger": {"category": "message_tag", "tag": "CONFIRMED_EVENT_UPDATE"}},
    {"messenger": {"category": "response"}},
    {"viber_service_msg": {"category": "transaction", "ttl": 600}},
    {"whatsapp": {"policy": "deterministic", "locale": "en-GB"}},
]
# Values of every JSON type, and strings that sit on a limit or break a format.
VALUES = st.one_of(
    st.sampled_from([None, True, 0, 1, 15, 30, 86400, 86401, 1.5, "", "x", [], {}, [{}], {"a": 1}]),
    st.sampled_from(["+447700900001", "00447700900001", "447700900001", "+", "https://example.com/x"]),
    st.sampled_from(["ftp://x", "https://127.0.0.1/x", "http://localhost/x", "en_US", "e", "read", "sms"]),
    st.sampled_from(["failover", "delivered", "message_tag", "template", "custom", "whatsapp", "image"]),
    st.integers(0, 5000).map(lambda n: "a" * n),
    st.integers(0, 120).map(lambda n: {f"k{i}": i for i in range(n)}),
    st.integers(0, 120).map(lambda n: [{"default": "p"}] * n),
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside `value` (keys and indexes), the empty path included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    steps = []
    count = draw(st.integers(1, 3))
    for index in range(count):
        channel = draw(st.sampled_from(sorted(ENDPOINTS)))
        sender, recipient = ENDPOINTS[channel]
        message = {"content": draw(st.sampled_from(CONTENTS)), **draw(st.sampled_from(OPTIONS))}
        step = {"from": sender, "to": recipient, "message": message}
        if index < count - 1:
            step["failover"] = {
                "expiry_time": draw(st.sampled_from([15, 60, 86400])),
                "condition_status": "read",
            }
        steps.append(step)
    body: dict[str, Any] = {"template": "failover", "workflow": steps}
    if draw(st.booleans()):
        body["callback"] = "https://example.com/callback"
    body = copy.deepcopy(body)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(paths(body)[1:]))
        *parents, last = path
        container = body
        for key in parents:
            container = container[key]
        if draw(st.booleans()) and isinstance(container, dict):
            del container[last]
        else:
            container[last] = copy.deepcopy(draw(VALUES))  # sampled values are shared objects
        if not body.get("workflow") and not isinstance(body.get("workflow"), list):
            break
    return body


TEMPLATE_STEP = {
    "from": {"type": "whatsapp", "number": "447700900000"},
    "to": {"type": "whatsapp", "number": "447700900001"},
    "message": {"content": {"type": "template", "template": {"name": "t", "parameters": None}}},
}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), st.sampled_from([1, 15, 30]), st.booleans())
# Found by this test: a template's `parameters` may be left out, but not null.
@example({"template": "failover", "workflow": [TEMPLATE_STEP]}, 15, False)
def test_the_create_functions_parser_answers_as_the_documented_models(
    body, min_expiry_time, loopback
) -> None:
    options = {"min_expiry_time": min_expiry_time, "allow_http_loopback_callback": loopback}
    try:
        expected = parse_workflow_request(copy.deepcopy(body), **options)
    except (InvalidWorkflowRequest, MalformedBody, BodyTooLarge) as refusal:
        assert_refused_alike(refusal, body, **options)
    else:
        assert_read_alike(expected, parse_create_body(body, **options))


def test_a_stored_message_is_compact_json_with_its_text_as_written_and_no_failover() -> None:
    # What the workflow item keeps (and a send reads back): no spaces, non-ASCII text unescaped.
    step = {
        "from": {"type": "sms", "number": "Acme"},
        "to": {"type": "sms", "number": "447700900001"},
        "message": {"content": {"type": "text", "text": "Grüße"}},
        "failover": {"expiry_time": 30, "condition_status": "read"},
    }
    assert stored_message(step) == (
        '{"from":{"type":"sms","number":"Acme"},"to":{"type":"sms","number":"447700900001"},'
        '"message":{"content":{"type":"text","text":"Grüße"}}}'
    )


def test_a_null_template_parameters_is_refused_as_not_an_array() -> None:
    with pytest.raises(InvalidWorkflowRequest) as refused:
        parse_create_body({"template": "failover", "workflow": [TEMPLATE_STEP]})
    assert [tuple(error) for error in refused.value.errors] == [
        ("workflow[0].message.content.template.parameters", "must be an array")
    ]
