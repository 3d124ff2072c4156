"""Reading a JSON request body with the standard library, as strictly as pydantic's parser.

`json.loads` alone would also take what cannot be stored or answered: a body in UTF-16 or 32
(it guesses the encoding) and lone surrogates (`"\\ud800"`), which no UTF-8 encoder accepts.
"""

from __future__ import annotations

import json
from typing import Any

from dispatch.domain.errors import MalformedBody

NOT_JSON = "The body is not valid JSON."


def load_json(body: bytes | str) -> Any:
    """The parsed body; MalformedBody when it is not UTF-8 JSON text."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        document = json.loads(text)
        # A lone surrogate parses but cannot be encoded: find it now rather than when storing.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError/EncodeError
        raise MalformedBody(NOT_JSON) from None
    return document
