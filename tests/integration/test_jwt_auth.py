"""Bearer JWT authentication through the local HTTP API and the deployed authorizer: an
application registered with the CLI signs its tokens with its private key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
import uuid
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import jwt
import pytest
import requests

from admin.accounts import main as accounts_cli
from dispatch.api.resolver import AUTH_ERRORS
from tests.integration.test_accounts_cli import new_rsa_key, record, workflow_body, write_public_key

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.fixture(scope="module")
def application(stack, tmp_path_factory) -> dict:
    """An account and one registered application, made with the CLI."""
    key = new_rsa_key()
    pem = write_public_key(key, tmp_path_factory.mktemp("keys") / "app.pem")
    where = ["--table", stack.table_name, "--endpoint-url", stack.moto_url]
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert accounts_cli(["create", *where, "--name", "JWT shop"]) == 0
    account = record(out.getvalue())
    register = ["register-application", *where, account["account_id"], "--public-key-file", str(pem)]
    out = io.StringIO()
    with redirect_stdout(out):
        assert accounts_cli(register) == 0
    return {**account, **record(out.getvalue()), "key": key, "public_pem": pem.read_bytes()}


def token(application: dict, *, key=None, **overrides) -> str:
    now = int(time.time())
    claims = {
        "application_id": application["application_id"],
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    } | overrides
    # A claim overridden with None is left out.
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key or application["key"], algorithm="RS256")


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_jwt_signed_by_a_registered_application_creates_a_workflow_and_gets_it(stack, application):
    created = requests.post(
        f"{stack.api_url}/v0.1/dispatch", json=workflow_body(), headers=bearer(token(application))
    )
    assert created.status_code == 202
    dispatch_uuid = created.json()["dispatch_uuid"]

    got = requests.get(f"{stack.api_url}/v0.1/workflows/{dispatch_uuid}", headers=bearer(token(application)))

    assert got.status_code == 200
    assert got.json()["dispatch_uuid"] == dispatch_uuid


def test_a_workflow_created_with_a_jwt_is_invisible_to_other_accounts(stack, api, application):
    created = requests.post(
        f"{stack.api_url}/v0.1/workflows", json=workflow_body(), headers=bearer(token(application))
    )
    assert created.status_code == 202

    other = api.get(f"{stack.api_url}/v0.1/workflows/{created.json()['dispatch_uuid']}")

    assert other.status_code == 404


def test_a_jwt_without_exp_as_a_dispatch_client_signs_it_is_accepted(stack, application):
    # A Dispatch client signs application_id, iat and jti only: valid for 15 minutes after iat
    dispatch_client_token = token(application, exp=None, iat=int(time.time()) - 60)

    created = requests.post(
        f"{stack.api_url}/v0.1/dispatch", json=workflow_body(), headers=bearer(dispatch_client_token)
    )

    assert created.status_code == 202, created.text


@pytest.mark.parametrize("scheme", ["bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(stack, application, scheme):
    response = requests.get(
        f"{stack.api_url}/v0.1/workflows",
        params={"page_size": 1},
        headers={"Authorization": f"{scheme} {token(application)}"},
    )
    assert response.status_code == 200, response.text


def _assert_invalid_token(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["title"] == "Unauthorized"
    assert problem["detail"] == AUTH_ERRORS["invalid_token"]
    assert problem["instance"]


def test_an_expired_jwt_gets_a_401_problem(stack, application):
    now = int(time.time())
    expired = token(application, iat=now - 600, exp=now - 120)
    _assert_invalid_token(
        requests.post(f"{stack.api_url}/v0.1/dispatch", json=workflow_body(), headers=bearer(expired))
    )


def test_a_jwt_without_exp_issued_more_than_15_minutes_ago_gets_a_401_problem(stack, application):
    stale = token(application, exp=None, iat=int(time.time()) - 16 * 60)
    _assert_invalid_token(
        requests.post(f"{stack.api_url}/v0.1/dispatch", json=workflow_body(), headers=bearer(stale))
    )


def test_a_jwt_claiming_more_than_24_hours_still_gets_a_401_problem(stack, application):
    now = int(time.time())
    long_lived = token(application, iat=now, exp=now + 24 * 3600 + 60)
    _assert_invalid_token(
        requests.post(f"{stack.api_url}/v0.1/dispatch", json=workflow_body(), headers=bearer(long_lived))
    )


def test_a_jwt_from_an_unknown_application_gets_a_401_problem(stack, application):
    unknown = token(application, application_id=str(uuid.uuid4()))
    _assert_invalid_token(
        requests.post(f"{stack.api_url}/v0.1/dispatch", json=workflow_body(), headers=bearer(unknown))
    )


def test_a_jwt_signed_with_another_key_gets_a_401_problem(stack, application):
    forged = token(application, key=new_rsa_key())
    _assert_invalid_token(
        requests.get(f"{stack.api_url}/v0.1/workflows/{uuid.uuid4()}", headers=bearer(forged))
    )


def test_an_hs256_jwt_keyed_with_the_public_key_gets_a_401_problem(stack, application):
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(jwt.decode(token(application), options={"verify_signature": False})).encode())
    signature = hmac.new(application["public_pem"], f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64(signature)}"
    _assert_invalid_token(
        requests.post(f"{stack.api_url}/v0.1/dispatch", json=workflow_body(), headers=bearer(forged))
    )


def test_the_authorizer_names_the_account_and_the_application(stack, application):
    event = json.loads((EVENTS / "authorizer.json").read_text())
    event["headers"]["authorization"] = f"Bearer {token(application)}"

    result, failed = stack.invoke_function("AuthorizerFunction", event)

    assert not failed
    assert result == {
        "isAuthorized": True,
        "context": {
            "account_id": application["account_id"],
            "auth_method": "jwt",
            "application_id": application["application_id"],
        },
    }


def test_the_authorizer_lets_a_refused_jwt_through_without_an_account(stack, application):
    event = json.loads((EVENTS / "authorizer.json").read_text())
    event["headers"]["authorization"] = f"Bearer {token(application, key=new_rsa_key())}"

    result, failed = stack.invoke_function("AuthorizerFunction", event)

    assert not failed
    assert result == {"isAuthorized": True, "context": {"auth_error": "invalid_token"}}
