"""Powertools logger, tracer and metrics shared by every function (one place to configure them).

Service name and namespace come from POWERTOOLS_* environment variables set in template.yaml.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
