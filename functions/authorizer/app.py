"""HTTP API Lambda authorizer (payload 2.0, simple responses): Basic api_key:api_secret.

It identifies the account; the functions refuse calls without one (see dispatch.api).
"""

import os

import boto3

from dispatch.accounts import AccountRepository, authenticate
from dispatch.observability import logger, tracer

accounts = AccountRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    authorization = (event.get("headers") or {}).get("authorization")
    account_id = authenticate(authorization, accounts)
    if account_id is not None:
        return {"isAuthorized": True, "context": {"account_id": account_id}}
    # Let the call through without an account: the function answers it with a 401 problem body
    # (API Gateway's own denial would be a bare 403). Every API route requires an account.
    logger.info("Refused credentials")
    scheme = (authorization or "").partition(" ")[0]
    reason = "invalid_credentials" if scheme == "Basic" else "unsupported_scheme"
    return {"isAuthorized": True, "context": {"auth_error": reason}}
