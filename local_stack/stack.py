"""The embedded local stack: moto (DynamoDB, Step Functions executing the real ASL, Lambda,
S3, IAM, Secrets Manager) with `template.yaml` deployed into it, a local HTTP API for the
template's routes, and the sandbox Messages API. No AWS account, no Docker."""

from __future__ import annotations

import functools
import json
import os
import secrets
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local_stack.deploy import deploy, install_moto_adapters
from local_stack.event_sources import sqs_event_sources
from local_stack.gateway import LocalHttpApi, routes_from_cloudformation
from local_stack.lambda_runtime import InProcessLambdaRuntime
from local_stack.sandbox import SandboxMessagesApi

MESSAGES_API_SECRET_NAME = "workflows-api/messages-api"
WEBHOOK_SIGNATURE_SECRET_NAME = "workflows-api/webhook-signature"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class LocalStackSettings:
    """Everything is settable by environment variables (see the README's configuration table)."""

    host: str = "127.0.0.1"
    api_port: int = field(default_factory=lambda: _env_int("LOCAL_API_PORT", 3000))
    moto_port: int = field(default_factory=lambda: _env_int("LOCAL_MOTO_PORT", 5000))
    sandbox_port: int = field(default_factory=lambda: _env_int("LOCAL_SANDBOX_PORT", 3100))
    region: str = field(default_factory=lambda: os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    stack_name: str = "workflows-api"
    # Lowering the 15 s minimum of Dispatch is allowed here only, so tests and demos run quickly.
    min_expiry_time: int = field(default_factory=lambda: _env_int("LOCAL_MIN_EXPIRY_TIME", 15))
    final_status_timeout: int = field(default_factory=lambda: _env_int("LOCAL_FINAL_STATUS_TIMEOUT", 120))
    status_delay: float = field(default_factory=lambda: float(os.environ.get("LOCAL_STATUS_DELAY", "0.5")))
    api_key: str = field(default_factory=lambda: os.environ.get("WORKFLOWS_API_KEY", "demo"))
    api_secret: str = field(default_factory=lambda: os.environ.get("WORKFLOWS_API_SECRET", "demo-secret"))
    log_level: str = field(default_factory=lambda: os.environ.get("LOCAL_LOG_LEVEL", "WARNING"))
    # Callback retries: first delay and longest delay, seconds (AWS defaults: 5 and 900).
    callback_retry_base: int = field(default_factory=lambda: _env_int("LOCAL_CALLBACK_RETRY_BASE", 1))
    callback_retry_max: int = field(default_factory=lambda: _env_int("LOCAL_CALLBACK_RETRY_MAX", 30))


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocalStack:
    """Start with `start()`, stop with `stop()`; ports of 0 are replaced by free ones."""

    def __init__(self, settings: LocalStackSettings | None = None) -> None:
        self.settings = settings or LocalStackSettings()
        self.runtime = InProcessLambdaRuntime()
        self.sandbox: SandboxMessagesApi | None = None
        self.gateway: LocalHttpApi | None = None
        self.deployment: dict[str, Any] = {}
        self.event_sources: list = []
        self._moto: ThreadedMotoServer | None = None
        self.signature_secret = ""

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        s = self.settings
        if s.moto_port == 0:
            s.moto_port = free_port(s.host)
        self._configure_environment()
        install_moto_adapters()
        self.runtime.install()
        self._moto = ThreadedMotoServer(ip_address=s.host, port=s.moto_port, verbose=False)
        self._moto.start()

        self.signature_secret = signature_secret = secrets.token_urlsafe(32)
        provider_key, provider_secret = "sandbox-key", secrets.token_urlsafe(24)
        self.sandbox = SandboxMessagesApi(
            host=s.host,
            port=s.sandbox_port,
            api_key=provider_key,
            api_secret=provider_secret,
            signature_secret=signature_secret,
            status_delay=s.status_delay,
        )
        self.sandbox.start()

        session = self.session()
        secrets_manager = session.client("secretsmanager")
        secrets_manager.create_secret(
            Name=MESSAGES_API_SECRET_NAME,
            SecretString=json.dumps({"api_key": provider_key, "api_secret": provider_secret}),
        )
        secrets_manager.create_secret(Name=WEBHOOK_SIGNATURE_SECRET_NAME, SecretString=signature_secret)

        self.deployment = deploy(
            session,
            stack_name=s.stack_name,
            parameters={
                "MessagesApiBaseUrl": self.sandbox.url,
                "MessagesApiSecretName": MESSAGES_API_SECRET_NAME,
                "WebhookSignatureSecretName": WEBHOOK_SIGNATURE_SECRET_NAME,
                "FinalStatusTimeoutSeconds": str(s.final_status_timeout),
                "LogLevel": s.log_level,
                "CallbackRetryBaseSeconds": str(s.callback_retry_base),
                "CallbackRetryMaxSeconds": str(s.callback_retry_max),
            },
        )
        self._register_functions(session)
        # The demo account's callback signature secret: set it to verify callbacks with a known one.
        self.demo_signature_secret = self.create_account(
            s.api_key,
            s.api_secret,
            account_id="demo-account",
            signature_secret=os.environ.get("WORKFLOWS_SIGNATURE_SECRET"),
        ).signature_secret

        routes, authorizers = routes_from_cloudformation(self.deployment["cfn"])
        self.gateway = LocalHttpApi(routes, authorizers, self.invoke_function, host=s.host, port=s.api_port)
        self.gateway.start()
        self.event_sources = sqs_event_sources(
            self.deployment["cfn"], self.deployment["resources"], self.client("sqs"), self.invoke_function
        )
        for source in self.event_sources:
            source.start()
        return self

    def stop(self) -> None:
        for server in (*self.event_sources, self.gateway, self.sandbox, self._moto):
            if server is not None:
                server.stop()

    def _configure_environment(self) -> None:
        s = self.settings
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": s.region,
                "AWS_REGION": s.region,
                # Every boto3 client of this process (handlers included) talks to moto.
                "AWS_ENDPOINT_URL": f"http://{s.host}:{s.moto_port}",
                # moto's Step Functions interpreter calls Lambda and DynamoDB at localhost:$MOTO_PORT.
                "MOTO_PORT": str(s.moto_port),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "MIN_EXPIRY_TIME_SECONDS": str(s.min_expiry_time),
                "ALLOW_HTTP_LOOPBACK_CALLBACKS": "true",
            }
        )

    def _register_functions(self, session: Any) -> None:
        """Tell the in-process runtime where each deployed function's code is, and give this
        process the functions' environment (they share one process here)."""
        # A layer's content is importable from the function, as from /opt/python on AWS.
        for layer_dir in map(str, self.deployment["layers"]):
            if layer_dir not in sys.path:
                sys.path.insert(0, layer_dir)
        lambda_client = session.client("lambda")
        environment: dict[str, str] = {}
        for logical_id, physical_id in self.deployment["resources"].items():
            if self.deployment["cfn"]["Resources"][logical_id]["Type"] != "AWS::Lambda::Function":
                continue
            configuration = lambda_client.get_function_configuration(FunctionName=physical_id)
            self.runtime.register(
                physical_id,
                logical_id=logical_id,
                code_dir=self.deployment["code"][logical_id],
                handler=configuration["Handler"],
            )
            for key, value in configuration.get("Environment", {}).get("Variables", {}).items():
                if environment.setdefault(key, str(value)) != str(value):
                    raise RuntimeError(f"Functions disagree on {key}; they share one process locally")
        os.environ.update(environment)

    # -- helpers for the CLI, the demo and the tests ----------------------------------------------

    def session(self) -> boto3.Session:
        return boto3.Session(region_name=self.settings.region)

    def client(self, service: str) -> Any:
        return self.session().client(service)

    def physical_id(self, logical_id: str) -> str:
        return self.deployment["resources"][logical_id]

    @property
    def table_name(self) -> str:
        return self.physical_id("WorkflowsTable")

    @property
    def state_machine_arn(self) -> str:
        return self.physical_id("WorkflowStateMachine")

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def moto_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.moto_port}"

    @functools.cached_property
    def _lambda(self) -> Any:
        # One client for every request the gateway serves (boto3 clients are thread-safe).
        return self.client("lambda")

    def invoke_function(self, logical_id: str, event: dict[str, Any]) -> tuple[Any, bool]:
        """Invoke a deployed function through moto's Lambda API (as API Gateway would)."""
        response = self._lambda.invoke(FunctionName=self.physical_id(logical_id), Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        return payload, "FunctionError" in response

    def create_account(
        self,
        api_key: str,
        api_secret: str,
        *,
        account_id: str,
        signature_secret: str | None = None,
        callback_url: str | None = None,
    ) -> Any:
        """Create an account in the stack's table; returns dispatch.domain.accounts.NewAccount (its
        signature secret is random unless given)."""
        from dispatch.domain.accounts import create_account
        from dispatch.storage.account_repository import AccountRepository
        from dispatch.storage.table import DynamoDBTable

        table = DynamoDBTable(boto3.client("dynamodb", region_name=self.settings.region), self.table_name)
        return create_account(
            AccountRepository(table),
            api_key=api_key,
            api_secret=api_secret,
            account_id=account_id,
            signature_secret=signature_secret,
            callback_url=callback_url,
        )

    def banner(self) -> str:
        s = self.settings
        venv_aws = Path(sys.executable).parent / "aws"
        aws = str(venv_aws) if venv_aws.exists() else "aws"
        endpoint = (
            f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {aws} --endpoint-url {self.moto_url}"
        )
        return "\n".join(
            [
                "Workflows API local stack is running (no AWS account, no Docker).",
                f"  API:                 {self.api_url}   (routes from template.yaml)",
                f"  API docs:            {self.api_url}/docs   (Swagger UI of /v0.1/openapi.json)",
                f"  Credentials:         api_key={s.api_key} api_secret={s.api_secret}  (Basic auth)",
                f"  Callback signatures: signature_secret={self.demo_signature_secret}",
                f"  Sandbox Messages API {self.sandbox.url if self.sandbox else '-'}/v1/messages",
                f"  moto (AWS APIs):     {self.moto_url}",
                f"  State machine:       {self.state_machine_arn}",
                f"  Table:               {self.table_name}",
                "Inspect executions the way the console does:",
                f"  {endpoint} stepfunctions list-executions --state-machine-arn {self.state_machine_arn}",
                f"  {endpoint} stepfunctions get-execution-history --execution-arn \\",
                f"    {self.state_machine_arn.replace(':stateMachine:', ':execution:')}:<dispatch_uuid>",
                "  (any credentials work, e.g. AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing)",
            ]
        )
