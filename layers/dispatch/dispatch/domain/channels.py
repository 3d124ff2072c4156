"""The channels and content types of Dispatch v0.1, and how each channel is addressed (names
only: the response models, the OpenAPI document and sends need them without the request's
validation, dispatch.domain.workflow_request)."""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["sms", "viber_service_msg", "messenger", "whatsapp"]
ContentType = Literal["text", "image", "audio", "video", "file", "template", "custom"]
CONTENT_TYPES: tuple[str, ...] = get_args(ContentType)
# The (from, to) endpoint field that addresses each channel: page/service ids or phone numbers.
ADDRESS_FIELDS_BY_CHANNEL: dict[str, tuple[str, str]] = {
    "messenger": ("id", "id"),
    "viber_service_msg": ("id", "number"),
    "sms": ("number", "number"),
    "whatsapp": ("number", "number"),
}
