"""One local stack for the whole integration session: moto with template.yaml deployed, the
functions' worker processes, the local HTTP API and the sandbox Messages API, all on free ports."""

from __future__ import annotations

import pytest
import requests

from local_stack.stack import LocalStack, LocalStackSettings
from tests.integration.helpers import FINAL_STATUS_TIMEOUT


@pytest.fixture(scope="session")
def stack():
    settings = LocalStackSettings(
        api_port=0,
        moto_port=0,
        sandbox_port=0,
        min_expiry_time=1,
        final_status_timeout=FINAL_STATUS_TIMEOUT,
        status_delay=0.1,
        api_key="test-key",
        api_secret="test-secret",
        log_level="WARNING",
        callback_retry_base=1,
        callback_retry_max=2,
    )
    local = LocalStack(settings).start()
    yield local
    local.stop()


@pytest.fixture(scope="session")
def api(stack) -> requests.Session:
    session = requests.Session()
    session.auth = (stack.settings.api_key, stack.settings.api_secret)
    return session
