"""Label Studio tokens: tell a Personal Access Token from a legacy token, and say what is wrong with one.

Label Studio has two kinds of API token:

- a Personal Access Token (the default for new organisations since 1.17) is a JWT *refresh* token;
  it is exchanged at ``POST /api/token/refresh/`` for a short-lived access token sent as
  ``Authorization: Bearer``. An access token itself (``token_type: access``) is sent as is.
- a legacy token (40 hex characters when Label Studio generates it) is sent as ``Authorization: Token``.

Everything here is pure and offline: ``classify`` reads the JWT's claims without verifying the
signature (only the server can), so an empty, malformed or expired token is reported in one line
before any request is made.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from dataclasses import dataclass
from typing import Literal

LEGACY_LENGTH = 40
HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
GET_A_TOKEN = ("create a Personal Access Token in Label Studio (Account & Settings > Personal Access Token) "
               "and set it in LABEL_STUDIO_API_KEY")


class TokenProblem(ValueError):
    """What is wrong with a token, as one line that never contains the token."""


@dataclass(frozen=True)
class Token:
    """A token and how to send it. ``expires`` is a Unix time for JWTs, None for legacy tokens."""

    kind: Literal["personal", "access", "legacy"]
    value: str
    expires: float | None = None


def jwt_claims(token: str) -> dict | None:
    """The claims of a JWT-shaped token (unverified), or None if it is not one."""
    if not JWT_RE.match(token):
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def classify(token: str, now: float | None = None) -> Token:
    """How to send ``token``; raises TokenProblem for an empty, malformed or expired one."""
    if not token.strip():
        raise TokenProblem(f"the token is empty: {GET_A_TOKEN}")
    if token != token.strip() or any(c.isspace() or not c.isprintable() for c in token):
        raise TokenProblem("the token is malformed (it contains spaces or control characters): "
                           "copy it again without quotes or line breaks")
    if token.count(".") == 2:
        claims = jwt_claims(token)
        if claims is None:
            raise TokenProblem(f"the token looks like a Personal Access Token but is not a readable JWT: {GET_A_TOKEN}")
        expires = claims.get("exp")
        if not isinstance(expires, (int, float)):
            raise TokenProblem(f"the Personal Access Token has no expiry, which Label Studio refuses: {GET_A_TOKEN}")
        if expires <= (time.time() if now is None else now):
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires))
            raise TokenProblem(f"the Personal Access Token expired on {when}: {GET_A_TOKEN}")
        kind: Literal["access", "personal"] = "access" if claims.get("token_type") == "access" else "personal"
        return Token(kind, token, float(expires))
    _check_legacy(token)
    return Token("legacy", token)


def _check_legacy(token: str) -> None:
    """Raise TokenProblem for a legacy token Label Studio cannot hold: it stores at most 40
    characters and applies a chosen one (``LABEL_STUDIO_USER_TOKEN``) only above 5; the tokens it
    generates are 40 hex digits, so all-hex of another length is one cut or extended when copied
    (a chosen token of hex digits only must then have 40 as well)."""
    if len(token) > LEGACY_LENGTH or len(token) <= 5 or (HEX_RE.match(token) and len(token) != LEGACY_LENGTH):
        raise TokenProblem(f"the token is malformed: it has {len(token)} characters, and a legacy token has "
                           f"{LEGACY_LENGTH} hex digits (a Personal Access Token is a JWT, with two dots): copy it "
                           "again whole, or " + GET_A_TOKEN)
