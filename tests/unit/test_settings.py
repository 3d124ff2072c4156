"""Each function's settings (dispatch.settings): what template.yaml gives the function validates,
a missing variable or a malformed number or flag is refused by name, and the handlers read their
environment only through their settings model."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from dispatch import settings as config
from local_stack.deploy import ROOT, code_directories, load_template

# Function code directory -> its settings model (the openapi function reads no configuration).
SETTINGS: dict[str, type[config.FunctionSettings]] = {
    "authorizer": config.AuthorizerSettings,
    "create_workflow": config.CreateWorkflowSettings,
    "get_workflow": config.GetWorkflowSettings,
    "get_message": config.GetMessageSettings,
    "list_workflows": config.ListWorkflowsSettings,
    "cancel_workflow": config.CancelWorkflowSettings,
    "send_message": config.SendMessageSettings,
    "status_webhook": config.StatusWebhookSettings,
    "deliver_callback": config.DeliverCallbackSettings,
    "reconcile_execution": config.ReconcileExecutionSettings,
}
# A malformed value of a number or flag each function reads (None: it reads none).
MALFORMED: dict[str, tuple[str, str] | None] = {
    "authorizer": None,
    "create_workflow": ("ALLOW_HTTP_LOOPBACK_CALLBACKS", "maybe"),
    "get_workflow": None,
    "get_message": None,
    "list_workflows": None,
    "cancel_workflow": None,
    "send_message": ("FINAL_STATUS_TIMEOUT_SECONDS", "one day"),
    "status_webhook": ("WEBHOOK_MAX_AGE_SECONDS", "5m"),
    "deliver_callback": ("CALLBACK_RETRY_BASE_SECONDS", "0"),
}


def _template_environment() -> dict[str, dict[str, str]]:
    """Function code directory -> the environment template.yaml gives it, a Ref to a parameter
    resolved to its default and a Ref to a resource to a made-up physical id."""
    template = load_template()
    parameters = template["Parameters"]

    def value(raw: Any) -> str:
        if isinstance(raw, dict) and "Ref" in raw:
            parameter = parameters.get(raw["Ref"])
            return str(parameter["Default"]) if parameter else f"physical-id-of-{raw['Ref']}"
        return str(raw)

    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    directories = code_directories(template)
    return {
        directories[logical_id].name: {
            name: value(raw)
            for name, raw in {
                **shared,
                **resource["Properties"].get("Environment", {}).get("Variables", {}),
            }.items()
        }
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


ENVIRONMENT = _template_environment()


def test_every_function_with_configuration_has_a_settings_model() -> None:
    assert set(ENVIRONMENT) == {*SETTINGS, "openapi"}


@pytest.mark.parametrize("function", SETTINGS)
def test_the_template_gives_each_function_valid_settings(function: str) -> None:
    settings = SETTINGS[function].from_environ(ENVIRONMENT[function])
    assert settings.table_name == "physical-id-of-WorkflowsTable"


@pytest.mark.parametrize("function", SETTINGS)
def test_a_missing_required_variable_is_refused_by_name(function: str) -> None:
    model = SETTINGS[function]
    required = [name for name, is_required in model.variables().items() if is_required]
    assert required
    for name in required:
        # Given: the function's environment without one required variable
        environment = {key: value for key, value in ENVIRONMENT[function].items() if key != name}
        # When / Then
        with pytest.raises(config.SettingsError) as raised:
            model.from_environ(environment)
        assert raised.value.errors == [(name, "is required")]


@pytest.mark.parametrize("function", [name for name, malformed in MALFORMED.items() if malformed])
def test_a_malformed_number_or_flag_is_refused_by_name(function: str) -> None:
    name, value = MALFORMED[function] or ("", "")
    with pytest.raises(config.SettingsError) as raised:
        SETTINGS[function].from_environ({**ENVIRONMENT[function], name: value})
    assert [error[0] for error in raised.value.errors] == [name]
    assert name in str(raised.value)


def test_create_workflow_reads_its_numbers_and_flag() -> None:
    settings = config.CreateWorkflowSettings.from_environ(
        {
            **ENVIRONMENT["create_workflow"],
            "RETENTION_DAYS": "7",
            "MIN_EXPIRY_TIME_SECONDS": "1",
            "ALLOW_HTTP_LOOPBACK_CALLBACKS": "true",
            "IDEMPOTENCY_HOURS": "2",
        }
    )
    assert settings.retention.days == 7
    assert (settings.min_expiry_time_seconds, settings.idempotency_hours) == (1, 2)
    assert settings.allow_http_loopback_callbacks is True


def test_unset_optional_values_take_their_defaults() -> None:
    settings = config.CreateWorkflowSettings.from_environ(
        {"TABLE_NAME": "workflows", "STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:1:stateMachine:w"}
    )
    assert (settings.retention_days, settings.min_expiry_time_seconds, settings.idempotency_hours) == (
        30,
        15,
        24,
    )
    assert settings.allow_http_loopback_callbacks is False


def test_an_empty_required_value_is_as_good_as_none() -> None:
    with pytest.raises(config.SettingsError) as raised:
        config.GetWorkflowSettings.from_environ({"TABLE_NAME": ""})
    assert raised.value.errors == [("TABLE_NAME", "must not be empty")]


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(config.SettingsError) as raised:
        config.CreateWorkflowSettings.from_environ({"RETENTION_DAYS": "-3", "IDEMPOTENCY_HOURS": "2.5"})
    assert raised.value.errors == [
        ("TABLE_NAME", "is required"),
        ("STATE_MACHINE_ARN", "is required"),
        ("RETENTION_DAYS", "must be at least 1"),
        ("IDEMPOTENCY_HOURS", "must be a whole number"),
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("True", True), ("1", True), ("yes", True), ("on", True), (" t ", True)]
    + [("false", False), ("FALSE", False), ("0", False), ("no", False), ("off", False), ("f", False)],
)
def test_flags_read_the_usual_spellings(raw: str, expected: bool) -> None:
    environ = {"TABLE_NAME": "t", "STATE_MACHINE_ARN": "arn", "ALLOW_HTTP_LOOPBACK_CALLBACKS": raw}
    assert config.CreateWorkflowSettings.from_environ(environ).allow_http_loopback_callbacks is expected


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("86400", 86400), (" 30 ", 30), ("+7", 7)])
def test_numbers_are_whole_and_positive(raw: str, expected: int) -> None:
    environ = {"TABLE_NAME": "t", "MESSAGES_API_BASE_URL": "u", "MESSAGES_API_SECRET_NAME": "s"}
    settings = config.SendMessageSettings.from_environ({**environ, "FINAL_STATUS_TIMEOUT_SECONDS": raw})
    assert settings.final_status_timeout_seconds == expected


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "1e3", "", "ten", "0x10"])
def test_a_number_that_is_not_a_whole_positive_one_is_refused(raw: str) -> None:
    environ = {"TABLE_NAME": "t", "MESSAGES_API_BASE_URL": "u", "MESSAGES_API_SECRET_NAME": "s"}
    with pytest.raises(config.SettingsError) as raised:
        config.SendMessageSettings.from_environ({**environ, "FINAL_STATUS_TIMEOUT_SECONDS": raw})
    assert [name for name, _ in raised.value.errors] == ["FINAL_STATUS_TIMEOUT_SECONDS"]


def test_settings_are_frozen() -> None:
    settings = config.GetWorkflowSettings.from_environ({"TABLE_NAME": "t"})
    with pytest.raises(AttributeError):
        settings.table_name = "other"  # type: ignore[misc]


def test_os_environ_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "from-the-environment")
    assert config.GetWorkflowSettings.from_environ().table_name == "from-the-environment"


@pytest.mark.parametrize("function", sorted(ENVIRONMENT))
def test_handlers_read_their_environment_only_through_their_settings(function: str) -> None:
    tree = ast.parse((ROOT / "functions" / function / "app.py").read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert "os" not in names and "environ" not in attributes and "getenv" not in attributes
    if function in SETTINGS:
        # e.g. `settings = CreateWorkflowSettings.from_environ()`, once, at import
        built = [
            node.value.func.value.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "from_environ"
            and isinstance(node.value.func.value, ast.Name)
        ]
        assert built == [SETTINGS[function].__name__]


def test_signed_statuses_are_accepted_for_at_least_24_hours_by_default() -> None:
    environ = {"TABLE_NAME": "t", "WEBHOOK_SIGNATURE_SECRET_NAME": "s", "CALLBACK_QUEUE_URL": "q"}
    assert config.StatusWebhookSettings.from_environ(environ).webhook_max_age_seconds >= 24 * 3600


def test_the_listing_needs_the_secret_that_signs_its_cursors() -> None:
    with pytest.raises(config.SettingsError, match="CURSOR_SECRET_ARN"):
        config.ListWorkflowsSettings.from_environ({"TABLE_NAME": "t"})
