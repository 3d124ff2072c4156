"""One Dispatch v0.1 workflow step as a Messages API v1 send body (`POST /v1/messages`)."""

from __future__ import annotations

from dispatch.domain.statuses import MAX_CLIENT_REF_LENGTH
from dispatch.domain.workflow_request import ADDRESS_FIELDS_BY_CHANNEL, Content, WorkflowStep

# v1 renamed one channel; the others keep their v0.1 name.
V1_CHANNELS = {"viber_service_msg": "viber_service"}
DEFAULT_WHATSAPP_POLICY = "deterministic"
DEFAULT_WHATSAPP_LOCALE = "en_US"


def to_messages_request(step: WorkflowStep, *, client_ref: str, webhook_url: str | None) -> dict:
    """Build the Messages v1 body that sends `step`.

    `client_ref` comes back in every status webhook (it is how statuses find their workflow);
    `webhook_url`, when given, overrides the application's status URL for this message.
    """
    if len(client_ref) > MAX_CLIENT_REF_LENGTH:
        raise ValueError(f"client_ref must be at most {MAX_CLIENT_REF_LENGTH} characters")
    channel = step.channel
    from_field, to_field = ADDRESS_FIELDS_BY_CHANNEL[channel]
    content = step.message.content
    body: dict = {
        "channel": V1_CHANNELS.get(channel, channel),
        "message_type": content.type,
        "to": getattr(step.to, to_field),
        "from": getattr(step.from_, from_field),
        "client_ref": client_ref,
        "webhook_version": "v1",
    }
    if webhook_url is not None:
        body["webhook_url"] = webhook_url
    body.update(_content(content))
    body.update(_channel_options(step))
    return body


def _content(content: Content) -> dict:
    if content.type == "text":
        return {"text": content.text}
    if content.type == "template":
        template = content.template
        assert template is not None  # the request's rules require it for this content type
        return {"template": {"name": template.name, "parameters": [p.default for p in template.parameters]}}
    if content.type == "custom":
        return {"custom": dict(content.custom or {})}
    # image, audio, video, file: {url} plus the caption where the model allows one and it is set
    media = getattr(content, content.type)
    return {content.type: media.model_dump(exclude_none=True)}


def _channel_options(step: WorkflowStep) -> dict:
    """The per-channel options block, only on the channel it belongs to."""
    message = step.message
    if step.channel == "messenger" and message.messenger:
        options = message.messenger.model_dump(exclude_none=True)
        return {"messenger": options} if options else {}
    if step.channel == "viber_service_msg" and message.viber_service_msg:
        options = message.viber_service_msg.model_dump(exclude_none=True)
        return {"viber_service": options} if options else {}
    if step.channel == "whatsapp" and message.content.type == "template":
        # v1 needs policy and locale for templates; v1 spells locales en_GB where v0.1 took en-GB.
        whatsapp = message.whatsapp
        policy = (whatsapp and whatsapp.policy) or DEFAULT_WHATSAPP_POLICY
        locale = (whatsapp and whatsapp.locale) or DEFAULT_WHATSAPP_LOCALE
        return {"whatsapp": {"policy": policy, "locale": locale.replace("-", "_")}}
    return {}
