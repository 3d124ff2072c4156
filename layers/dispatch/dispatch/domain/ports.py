"""What the domain needs from the outside world, as typing.Protocols.

Domain functions take their dependencies as arguments typed with these ports; the adapters
(dispatch.storage, dispatch.integrations) and the tests' fakes conform to them, and mypy checks
that they do. Nothing here imports an adapter: the arrows point from the adapters to the domain.
"""

from __future__ import annotations

from typing import Any, Protocol


class AccountStore(Protocol):
    """The accounts' credentials and applications, as authentication and sign-up need them
    (adapter: dispatch.storage.account_repository.AccountRepository)."""

    def get_credentials(self, api_key: str) -> dict[str, str] | None: ...

    def get_application(self, application_id: str) -> dict[str, Any] | None: ...

    def create(
        self,
        *,
        account_id: str,
        api_key: str,
        secret_hash: str,
        signature_secret: str,
        now: str,
        name: str | None = None,
        callback_url: str | None = None,
    ) -> None: ...
