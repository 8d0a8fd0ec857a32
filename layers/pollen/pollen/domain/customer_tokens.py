"""Customer tokens: short-lived proof that an app acts for one signed-in customer.

A token is a JWT (HS256, signed with PyJWT) minted by the merchant's server (or from a verified
Shopify App Proxy request) and sent by the app as ``Authorization: Bearer <token>`` beside its app
key. Claims: ``iss`` ``pollen``, ``aud`` ``pollen:<merchant_id>``, ``sub`` the customer id, ``iat``,
``exp``; the header's ``kid`` names the merchant secret that signed it.

Each merchant has a *keyring*: the newest secret signs, older ones still verify until they retire
(a rotation gives them a grace period as long as the longest token, so no token minted before a
rotation stops working early). Secrets are 256 random bits; nothing here touches storage.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from pollen.ids import new_hex_id, new_token
from pollen.model import BaseModel

ALGORITHM = "HS256"
ISSUER = "pollen"
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 86_400  # a day: apps refresh through the merchant's server
DEFAULT_TTL_SECONDS = 3_600
DEFAULT_GRACE_SECONDS = MAX_TTL_SECONDS  # every token signed by a rotated secret expires within it
MAX_GRACE_SECONDS = 7 * 86_400
LEEWAY_SECONDS = 30  # clock skew between the minting server and Lambda

TtlSeconds = Annotated[int, Field(ge=MIN_TTL_SECONDS, le=MAX_TTL_SECONDS, strict=True)]


class InvalidToken(Exception):
    """Forged, expired, for another merchant, or signed by an unknown or retired secret."""


class TokenSecret(BaseModel):
    model_config = ConfigDict(frozen=True)

    kid: str
    secret: str = Field(repr=False)
    created_at: datetime
    retires_at: datetime | None = None  # None: the signing secret

    def verifies_at(self, now: datetime) -> bool:
        return self.retires_at is None or now < self.retires_at


class Keyring(BaseModel):
    """The merchant's token secrets, newest first."""

    model_config = ConfigDict(frozen=True)

    secrets: list[TokenSecret] = Field(default_factory=list)
    version: int = 0

    @property
    def signing(self) -> TokenSecret | None:
        return next((s for s in self.secrets if s.retires_at is None), None)

    def find(self, kid: str, now: datetime) -> TokenSecret | None:
        return next((s for s in self.secrets if s.kid == kid and s.verifies_at(now)), None)

    def rotated(self, now: datetime, grace: timedelta) -> Keyring:
        """A new signing secret; the others verify until ``now + grace`` (or earlier if already due)."""
        retire = now + grace
        kept = [
            s.model_copy(update={"retires_at": min(s.retires_at or retire, retire)})
            for s in self.secrets
            if s.verifies_at(now)
        ]
        kept = [s for s in kept if s.retires_at is not None and s.retires_at > now]
        return Keyring(secrets=[new_secret(now), *kept], version=self.version + 1)


def new_secret(now: datetime) -> TokenSecret:
    return TokenSecret(kid=new_hex_id(8), secret=new_token(32), created_at=now)


def audience(merchant_id: str) -> str:
    return f"{ISSUER}:{merchant_id}"


def mint(
    secret: TokenSecret, merchant_id: str, customer_id: str, *, ttl_seconds: int, now: datetime
) -> tuple[str, datetime]:
    """``(token, expires_at)``; ``expires_at`` is whole seconds, as the ``exp`` claim."""
    import jwt  # noqa: PLC0415 - only routes that mint or verify tokens pay for the import

    issued = int(now.timestamp())
    expires = issued + ttl_seconds
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": audience(merchant_id),
        "sub": customer_id,
        "iat": issued,
        "exp": expires,
    }
    token = jwt.encode(claims, secret.secret, algorithm=ALGORITHM, headers={"kid": secret.kid})
    return token, datetime.fromtimestamp(expires, tz=now.tzinfo)


def kid_of(token: str) -> str:
    """The ``kid`` of a token's header, before any verification (it only picks the secret)."""
    import jwt  # noqa: PLC0415

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or header.get("alg") != ALGORITHM:
        raise InvalidToken("unexpected token header")
    return kid


def verify(secret: TokenSecret, merchant_id: str, token: str, *, now: datetime) -> str:
    """The customer id the token was minted for, or :class:`InvalidToken`."""
    import jwt  # noqa: PLC0415

    try:
        claims = jwt.decode(
            token,
            secret.secret,
            algorithms=[ALGORITHM],
            audience=audience(merchant_id),
            issuer=ISSUER,
            # Times are checked below against ``now`` (Pollen's clock), not PyJWT's own clock.
            options={
                "require": ["exp", "iat", "sub", "aud", "iss"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    at = int(now.timestamp())
    expires, issued = claims["exp"], claims["iat"]
    if not isinstance(expires, int) or not isinstance(issued, int):
        raise InvalidToken("times are not integers")
    if expires + LEEWAY_SECONDS <= at:
        raise InvalidToken("expired")
    if issued - LEEWAY_SECONDS > at or expires - issued > MAX_TTL_SECONDS:
        raise InvalidToken("issued in the future or lives too long")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("no subject")
    return subject
