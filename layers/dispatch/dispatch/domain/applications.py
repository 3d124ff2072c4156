"""Applications: RSA public keys an account registers so that its clients can call the API with
`Authorization: Bearer <JWT>` (RS256 over application_id, iat, jti and optionally exp, as the
Vonage APIs accept) instead of sending the API secret with every request.

Item (pk = "APPLICATION#<application_id>"): application_id, account_id, public_key (PEM), name,
created_at, gsi1pk = "ACCOUNT#<account_id>#APPLICATIONS", gsi1sk = application_id. Storage is
dispatch.storage.account_repository's; this module validates keys and verifies tokens.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# PyJWT and cryptography are imported by the functions below, not with this module: every
# function that reads accounts imports it, and only bearer tokens and key registration need them
# (they cost a cold start more than the rest of the module's importers' own code).

ALGORITHM = "RS256"
MIN_RSA_KEY_BITS = 2048
LEEWAY_SECONDS = 30
# A token is a short-lived credential: one valid for longer is a leaked secret waiting to happen.
MAX_LIFETIME_SECONDS = 24 * 3600
# Vonage treats a token without `exp` as valid for 15 minutes after its `iat` (Dispatch clients
# sign only application_id, iat and jti).
DEFAULT_LIFETIME_SECONDS = 15 * 60
REQUIRED_CLAIMS = ("application_id", "iat", "jti")
# Far above any real RS256 token; stops a huge header from costing a decode.
_MAX_TOKEN_LENGTH = 8192


class InvalidPublicKey(ValueError):
    """The PEM is not an RSA public key of at least MIN_RSA_KEY_BITS bits."""


def application_key(application_id: str) -> dict[str, str]:
    return {"pk": f"APPLICATION#{application_id}"}


def account_applications_key(account_id: str) -> str:
    """The index partition listing an account's applications."""
    return f"ACCOUNT#{account_id}#APPLICATIONS"


def new_application_id() -> str:
    return str(uuid.uuid4())


def _load_rsa_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise InvalidPublicKey("not a PEM-encoded public key") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidPublicKey("not an RSA public key (RS256 needs one)")
    if key.key_size < MIN_RSA_KEY_BITS:
        raise InvalidPublicKey(f"the RSA key has {key.key_size} bits; at least {MIN_RSA_KEY_BITS} needed")
    return key


def normalized_public_key(pem: str | bytes) -> str:
    """The key as a SubjectPublicKeyInfo PEM (PKCS#1 `RSA PUBLIC KEY` input is accepted too);
    raises InvalidPublicKey for anything but an RSA public key of at least 2048 bits."""
    from cryptography.hazmat.primitives import serialization

    key = _load_rsa_public_key(pem)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def verify_bearer_token(
    token: str, get_application: Callable[[str], dict[str, Any] | None]
) -> dict[str, Any] | None:
    """The registered application that signed `token`, or None when the token is malformed,
    expired, not yet valid, too long-lived, signed with anything but RS256, or not signed by the
    application it names."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    import jwt

    try:
        # Refuse other algorithms before anything else: `none`, and HS256 keyed with the public
        # key (algorithm confusion), must never get near a verification.
        if jwt.get_unverified_header(token).get("alg") != ALGORITHM:
            return None
        # Unverified, only to learn which application's key to verify with.
        application_id = jwt.decode(token, options={"verify_signature": False}).get("application_id")
    except jwt.InvalidTokenError:
        return None
    if not isinstance(application_id, str) or not _is_uuid(application_id):
        return None
    application = get_application(application_id)
    if application is None:
        return None
    try:
        # The key comes from our table, never from the token (its kid/jwk/jku headers are ignored).
        key = _load_rsa_public_key(application["public_key"])
    except (InvalidPublicKey, KeyError):  # stored data must not make the authorizer fail
        return None
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS), "verify_exp": True, "verify_iat": True},
        )
    except jwt.InvalidTokenError:
        return None
    return application if _claims_acceptable(claims, application_id) else None


def _claims_acceptable(claims: dict[str, Any], application_id: str) -> bool:
    iat, jti = claims["iat"], claims["jti"]
    if claims["application_id"] != application_id or not _is_number(iat):
        return False
    exp = expires_at(claims)
    if not _is_number(exp) or not isinstance(jti, str) or not jti:
        return False
    now = time.time()
    # PyJWT checks a future iat only in recent versions: check it here whatever the version.
    # (A present `exp` was checked by PyJWT; a defaulted one is checked here.)
    if iat > now + LEEWAY_SECONDS or exp < now - LEEWAY_SECONDS:
        return False
    return 0 < exp - iat <= MAX_LIFETIME_SECONDS


def expires_at(claims: dict[str, Any]) -> Any:
    """The token's `exp`, or `iat` + 15 minutes when it has none (as Vonage does)."""
    if "exp" in claims:
        return claims["exp"]
    return claims["iat"] + DEFAULT_LIFETIME_SECONDS


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36
