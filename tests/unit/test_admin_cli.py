"""The admin CLI allows loopback callback URLs only against the local stack."""

from __future__ import annotations

import argparse

import pytest

from admin.accounts import CommandError, _local, _valid_callback_url


@pytest.mark.parametrize(
    ("endpoint_url", "local"),
    [
        (None, False),  # a deployed stack
        ("https://dynamodb.eu-west-1.amazonaws.com", False),
        ("http://127.0.0.1:5000", True),  # the local stack's moto
        ("http://localhost:5000", True),
    ],
)
def test_loopback_callbacks_only_against_a_local_stack(monkeypatch, endpoint_url, local):
    monkeypatch.delenv("ALLOW_HTTP_LOOPBACK_CALLBACKS", raising=False)
    args = argparse.Namespace(endpoint_url=endpoint_url)

    assert _local(args) is local
    if local:
        assert _valid_callback_url("http://127.0.0.1:4000/cb", args) == "http://127.0.0.1:4000/cb"
    else:
        with pytest.raises(CommandError):
            _valid_callback_url("http://127.0.0.1:4000/cb", args)
    with pytest.raises(CommandError):
        _valid_callback_url("https://10.0.0.1/cb", args)
