"""HTTP API Lambda authorizer (payload 2.0, simple responses): Basic api_key:api_secret."""

import os

import boto3

from dispatch.accounts import authenticate
from dispatch.observability import logger, tracer
from dispatch.repository import AccountRepository

accounts = AccountRepository(boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"]))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    headers = event.get("headers") or {}
    account_id = authenticate(headers.get("authorization"), accounts)
    if account_id is None:
        logger.info("Refused credentials")
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": {"account_id": account_id}}
