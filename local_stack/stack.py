"""The embedded local stack: moto (DynamoDB, Step Functions executing the real ASL, Lambda,
S3, IAM, Secrets Manager) with `template.yaml` deployed into it, a local HTTP API for the
template's routes, the sandbox Messages API, and the functions in their own worker processes.
No AWS account, no Docker.

It keeps everything in memory: stopping or restarting it loses every workflow, including those
in flight. It is for development, demos, tests and load tests of an integration, not a server."""

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

from local_stack import LOCAL_REGION, moto_speedups
from local_stack.deploy import deploy, install_moto_adapters
from local_stack.event_sources import sqs_event_sources
from local_stack.execution_events import ExecutionStatusEvents
from local_stack.gateway import LocalHttpApi, routes_from_cloudformation
from local_stack.lambda_runtime import FunctionSpec, LambdaRuntime
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
    region: str = field(default_factory=lambda: os.environ.get("AWS_DEFAULT_REGION", LOCAL_REGION))
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
    # A file the sandbox appends its sends and status deliveries to (JSON lines), for `make load`.
    sandbox_log: str | None = field(default_factory=lambda: os.environ.get("LOCAL_SANDBOX_LOG") or None)
    # Execution environments (worker processes) per function, as Lambda's concurrency per function.
    lambda_concurrency: int = field(default_factory=lambda: _env_int("LOCAL_LAMBDA_CONCURRENCY", 4))
    # The status webhook's own: a status per message arrives in bursts, each decides a step on
    # time, and a short invocation mostly waits for moto; with 4 environments statuses queued for
    # an environment (`make load`: webhook lag p99 3.0-3.4 s at 4, 1.7-1.9 s at 8 and 16).
    status_webhook_concurrency: int = field(
        default_factory=lambda: _env_int("LOCAL_STATUS_WEBHOOK_CONCURRENCY", 8)
    )
    # How long a thread of this process (moto, the gateway, the interpreter) may hold the GIL while
    # others wait, seconds (Python's default: 0.005). Every AWS call a function makes is a short
    # request to moto here; under load dozens of threads want the GIL and each request takes it
    # several times, so a shorter turn answers short requests sooner (`make load`: webhook lag p99
    # 2.4-3.8 s at 0.005, 1.8 s at 0.001, at 200 workflows).
    switch_interval: float = field(
        default_factory=lambda: float(os.environ.get("LOCAL_SWITCH_INTERVAL", "0.001"))
    )


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class LocalStack:
    """Start with `start()`, stop with `stop()`; ports of 0 are replaced by free ones."""

    def __init__(self, settings: LocalStackSettings | None = None) -> None:
        self.settings = settings or LocalStackSettings()
        self.runtime = LambdaRuntime(
            concurrency=self.settings.lambda_concurrency,
            concurrency_by_function={"StatusWebhookFunction": self.settings.status_webhook_concurrency},
        )
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
        moto_speedups.install()
        sys.setswitchinterval(s.switch_interval)
        self.runtime.install()
        self._moto = ThreadedMotoServer(ip_address=s.host, port=s.moto_port, verbose=False)
        self._moto.start()
        # The workers' zygote imports boto3 & co. while the template deploys.
        self.runtime.start(dict(os.environ))

        self.signature_secret = signature_secret = secrets.token_urlsafe(32)
        provider_key, provider_secret = "sandbox-key", secrets.token_urlsafe(24)
        self.sandbox = SandboxMessagesApi(
            host=s.host,
            port=s.sandbox_port,
            api_key=provider_key,
            api_secret=provider_secret,
            signature_secret=signature_secret,
            status_delay=s.status_delay,
            event_log=s.sandbox_log,
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
        self.runtime.prewarm()
        # The demo account's callback signature secret: set it to verify callbacks with a known one.
        self.demo_signature_secret = self.create_account(
            s.api_key,
            s.api_secret,
            account_id="demo-account",
            signature_secret=os.environ.get("WORKFLOWS_SIGNATURE_SECRET"),
        ).signature_secret

        routes, authorizers = routes_from_cloudformation(self.deployment["cfn"])
        self.gateway = LocalHttpApi(routes, authorizers, self.invoke_direct, host=s.host, port=s.api_port)
        self.gateway.start()
        self.event_sources = sqs_event_sources(
            self.deployment["cfn"], self.deployment["resources"], self.client("sqs"), self.invoke_direct
        )
        self.execution_events = ExecutionStatusEvents(session, invoke=self.invoke_function_arn)
        self.event_sources.append(self.execution_events)
        for source in self.event_sources:
            source.start()
        return self

    def stop(self) -> None:
        for server in (*self.event_sources, self.gateway, self.sandbox, self.runtime, self._moto):
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
        """Give the runtime each deployed function: its handler, code, layers, environment."""
        layers = [str(layer_dir) for layer_dir in self.deployment["layers"]]
        for layer_dir in layers:  # this process imports the layer too (create_account)
            if layer_dir not in sys.path:
                sys.path.insert(0, layer_dir)
        lambda_client = session.client("lambda")
        for logical_id, physical_id in self.deployment["resources"].items():
            if self.deployment["cfn"]["Resources"][logical_id]["Type"] != "AWS::Lambda::Function":
                continue
            configuration = lambda_client.get_function_configuration(FunctionName=physical_id)
            memory, timeout = (
                int(configuration.get("MemorySize") or 128),
                int(configuration.get("Timeout") or 3),
            )
            environment = {
                key: str(value)
                for key, value in configuration.get("Environment", {}).get("Variables", {}).items()
            }
            # What the Lambda service sets in every execution environment.
            environment.update(
                {
                    "AWS_LAMBDA_FUNCTION_NAME": physical_id,
                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
                    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{physical_id}",
                }
            )
            self.runtime.register(
                FunctionSpec(
                    name=physical_id,
                    logical_id=logical_id,
                    arn=configuration["FunctionArn"],
                    handler=configuration["Handler"],
                    paths=(str(self.deployment["code"][logical_id]), *layers),
                    environment=environment,
                    memory=memory,
                    timeout=timeout,
                )
            )

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
        """Invoke a deployed function through moto's Lambda API (lambda:Invoke)."""
        response = self._lambda.invoke(FunctionName=self.physical_id(logical_id), Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        return payload, "FunctionError" in response

    def invoke_function_arn(self, function_arn: str, event: dict[str, Any]) -> tuple[Any, bool]:
        """Invoke a deployed function by its ARN (as an EventBridge target names it)."""
        response = self._lambda.invoke(FunctionName=function_arn, Payload=json.dumps(event))
        payload = json.loads(response["Payload"].read() or b"null")
        return payload, "FunctionError" in response

    def invoke_direct(self, logical_id: str, event: dict[str, Any]) -> tuple[Any, bool]:
        """Invoke a deployed function in its execution environment, as the Lambda service does for
        API Gateway and event source mappings (no lambda:Invoke round trip through moto)."""
        payload, failed = self.runtime.invoke(self.physical_id(logical_id), json.dumps(event))
        return json.loads(payload or b"null"), failed

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
            # The local stack's exception: callbacks to a receiver on this machine.
            allow_loopback_callback=True,
        )

    def banner(self) -> str:
        s = self.settings
        venv_aws = Path(sys.executable).parent / "aws"
        aws = _shell_path(venv_aws) if venv_aws.exists() else "aws"
        # Runnable as printed: moto takes any credentials, but the CLI insists on some and a region.
        endpoint = (
            f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {aws} "
            f"--endpoint-url {self.moto_url} --region {s.region}"
        )
        pythonpath = ":".join(_shell_path(path) for path in (ROOT, ROOT / "layers" / "dispatch"))
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
                "Manage accounts (see docs/accounts.md):",
                f"  PYTHONPATH={pythonpath} {_shell_path(Path(sys.executable))} -m admin.accounts list \\",
                f"    --stack {s.stack_name} --endpoint-url {self.moto_url}",
                f"Each function runs in up to {self.runtime.concurrency} worker processes of its own "
                "(LOCAL_LAMBDA_CONCURRENCY), as Lambda runs execution environments; the status "
                f"webhook in up to {s.status_webhook_concurrency} (LOCAL_STATUS_WEBHOOK_CONCURRENCY).",
                "Everything is kept in memory: stopping or restarting the stack loses every workflow, "
                "including those in flight.",
            ]
        )


ROOT = Path(__file__).resolve().parent.parent


def _shell_path(path: Path) -> str:
    """`path` as short as it can be printed: relative when under the current directory."""
    try:
        relative = str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
    return relative if relative != "." else "."
