"""Powertools logger, tracer and metrics shared by every function (one place to configure them).

Service name and namespace come from POWERTOOLS_* environment variables set in template.yaml.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Not Powertools' default patch_all, which imports and patches every library X-Ray knows
# (sqlite3, httplib, ...) at each cold start: what a function calls is patched when it first
# calls it, botocore with the first boto3 client (dispatch.aws), requests with trace_http().
tracer = Tracer(auto_patch=False)
metrics = Metrics()


def trace_http() -> None:
    """X-Ray subsegments for the HTTP calls made with requests (a no-op once done, or when tracing
    is off, as outside Lambda)."""
    tracer.patch(["requests"])
