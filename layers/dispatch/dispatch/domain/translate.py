"""One Dispatch v0.1 workflow step as a Messages API v1 send body (`POST /v1/messages`).

The step is read as the workflow item stores it (dispatch.domain.create_body.stored_message):
validated when the workflow was created, so a send only reshapes it, with no models to build on
the hot path's cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dispatch.domain.channels import ADDRESS_FIELDS_BY_CHANNEL
from dispatch.domain.statuses import MAX_CLIENT_REF_LENGTH

# v1 renamed one channel; the others keep their v0.1 name.
V1_CHANNELS = {"viber_service_msg": "viber_service"}
DEFAULT_WHATSAPP_POLICY = "deterministic"
DEFAULT_WHATSAPP_LOCALE = "en_US"
MEDIA_TYPES = ("image", "audio", "video", "file")


def to_messages_request(step: Mapping[str, Any], *, client_ref: str, webhook_url: str | None) -> dict:
    """Build the Messages v1 body that sends `step` (a stored step: `from`, `to`, `message`).

    `client_ref` comes back in every status webhook (it is how statuses find their workflow);
    `webhook_url`, when given, overrides the application's status URL for this message.
    """
    if len(client_ref) > MAX_CLIENT_REF_LENGTH:
        raise ValueError(f"client_ref must be at most {MAX_CLIENT_REF_LENGTH} characters")
    channel = step["from"]["type"]
    from_field, to_field = ADDRESS_FIELDS_BY_CHANNEL[channel]
    content = step["message"]["content"]
    body: dict = {
        "channel": V1_CHANNELS.get(channel, channel),
        "message_type": content["type"],
        "to": step["to"].get(to_field),
        "from": step["from"].get(from_field),
        "client_ref": client_ref,
        "webhook_version": "v1",
    }
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    body.update(_content(content))
    body.update(_channel_options(channel, step["message"]))
    return body


def _content(content: Mapping[str, Any]) -> dict:
    content_type = content["type"]
    if content_type == "text":
        return {"text": content["text"]}
    if content_type == "template":
        template = content["template"]
        parameters = [parameter["default"] for parameter in template.get("parameters", [])]
        return {"template": {"name": template["name"], "parameters": parameters}}
    if content_type == "custom":
        return {"custom": dict(content.get("custom") or {})}
    if content_type in MEDIA_TYPES:
        # {url} plus the caption where the request allows one and it is set
        return {content_type: dict(content[content_type])}
    raise ValueError(f"unknown content type {content_type!r}")


def _channel_options(channel: str, message: Mapping[str, Any]) -> dict:
    """The per-channel options block, only on the channel it belongs to."""
    if channel == "messenger" and message.get("messenger"):
        return {"messenger": dict(message["messenger"])}
    if channel == "viber_service_msg" and message.get("viber_service_msg"):
        return {"viber_service": dict(message["viber_service_msg"])}
    if channel == "whatsapp" and message["content"]["type"] == "template":
        # v1 needs policy and locale for templates; v1 spells locales en_GB where v0.1 took en-GB.
        whatsapp = message.get("whatsapp") or {}
        policy = whatsapp.get("policy") or DEFAULT_WHATSAPP_POLICY
        locale = whatsapp.get("locale") or DEFAULT_WHATSAPP_LOCALE
        return {"whatsapp": {"policy": policy, "locale": locale.replace("-", "_")}}
    return {}
