"""HTTP API Lambda authorizer (payload 2.0, simple responses): `Basic api_key:api_secret`, or
`Bearer <JWT>` signed (RS256) by one of the account's registered applications.

It identifies the account; the functions refuse calls without one (see dispatch.api.resolver).
"""

from dispatch.aws import dynamodb_table
from dispatch.domain.accounts import authenticate, refusal_reason
from dispatch.observability import logger, tracer
from dispatch.settings import AuthorizerSettings
from dispatch.storage.account_repository import AccountRepository

settings = AuthorizerSettings.from_environ()
accounts = AccountRepository(dynamodb_table(settings.table_name))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event, context):
    authorization = (event.get("headers") or {}).get("authorization")
    identity = authenticate(authorization, accounts)
    if identity is not None:
        return {"isAuthorized": True, "context": identity.context()}
    # Let the call through without an account: the function answers it with a 401 problem body
    # (API Gateway's own denial would be a bare 403). Every API route requires an account.
    reason = refusal_reason(authorization)
    logger.info("Refused credentials", extra={"reason": reason})
    return {"isAuthorized": True, "context": {"auth_error": reason}}
