"""The channels and content types of Dispatch v0.1 (names only: the response models and the
OpenAPI document need them without the request's validation, dispatch.domain.workflow_request)."""

from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["sms", "viber_service_msg", "messenger", "whatsapp"]
ContentType = Literal["text", "image", "audio", "video", "file", "template", "custom"]
CONTENT_TYPES: tuple[str, ...] = get_args(ContentType)
