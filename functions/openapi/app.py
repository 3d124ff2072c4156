"""GET /v0.1/openapi.json: the API's OpenAPI 3.1 document (public: it holds no secrets, and
clients read it before they have credentials)."""

from dispatch.api.openapi import OPENAPI_PATH, openapi_document
from dispatch.api.resolver import json_response, new_resolver
from dispatch.observability import logger, metrics, tracer

app = new_resolver(authenticated=False)


@app.get(OPENAPI_PATH)
@tracer.capture_method
def handle_get_openapi_document():
    # Built from the models once per container; it changes only with a deployment.
    return json_response(200, openapi_document(), headers={"Cache-Control": "public, max-age=300"})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event, context):
    return app.resolve(event, context)
