"""Telling Label Studio tokens apart offline, and saying what is wrong with one without showing it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from lsts_sync.live.ls_auth import Token, TokenProblem, classify, jwt_claims

NOW = 1_750_000_000.0  # a fixed "now" (June 2025)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(**claims: Any) -> str:
    return f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}.c2ln"


def problem(token: str) -> str:
    with pytest.raises(TokenProblem) as caught:
        classify(token, now=NOW)
    message = str(caught.value)
    assert "\n" not in message
    if token.strip():
        assert token.strip() not in message
    return message


@pytest.mark.parametrize("token", ["", "   ", "\n"])
def test_an_empty_token_is_a_problem(token: str) -> None:
    assert "the token is empty" in problem(token)


@pytest.mark.parametrize("token", [" " + "a" * 40, "a" * 40 + "\n", "a" * 20 + " " + "a" * 20,
                                   "a" * 20 + "\t" + "a" * 20, "a" * 20 + "\x00" + "a" * 20])
def test_a_token_with_spaces_or_control_characters_is_malformed(token: str) -> None:
    assert "the token is malformed" in problem(token)


@pytest.mark.parametrize("token", [
    "abc.def.ghi",  # three parts, the payload is not JSON
    f"{b64(b'{}')}.{b64(b'not json at all')}.sig",
    f"{b64(b'{}')}.{b64(b'[1, 2]')}.sig",  # JSON but not an object
    "a$b.c%d.e",  # characters outside base64url
    "abcde.a.sig",  # a payload of impossible length
])
def test_a_jwt_shaped_token_that_cannot_be_read_is_a_problem(token: str) -> None:
    assert "not a readable JWT" in problem(token)


def test_a_jwt_without_expiry_is_a_problem() -> None:
    assert "has no expiry" in problem(jwt(token_type="refresh", user_id=1))


def test_a_jwt_with_a_non_numeric_expiry_is_a_problem() -> None:
    assert "has no expiry" in problem(jwt(token_type="refresh", exp="tomorrow"))


def test_an_expired_jwt_is_a_problem_naming_when_it_expired() -> None:
    message = problem(jwt(token_type="refresh", exp=int(NOW) - 3600))
    assert "the Personal Access Token expired on 2025-06-15 14:06 UTC" in message


def test_a_jwt_expiring_exactly_now_is_expired() -> None:
    assert "expired" in problem(jwt(token_type="refresh", exp=int(NOW)))


def test_a_refresh_token_is_a_personal_access_token() -> None:
    token = jwt(token_type="refresh", exp=int(NOW) + 60)
    assert classify(token, now=NOW) == Token("personal", token, NOW + 60)


def test_a_jwt_without_token_type_is_treated_as_a_personal_access_token() -> None:
    token = jwt(exp=int(NOW) + 60)
    assert classify(token, now=NOW).kind == "personal"


def test_an_access_token_is_sent_as_is() -> None:
    token = jwt(token_type="access", exp=int(NOW) + 60)
    assert classify(token, now=NOW) == Token("access", token, NOW + 60)


def test_a_40_hex_token_is_legacy() -> None:
    token = "0123456789abcdef0123456789abcdef01234567"
    assert classify(token, now=NOW) == Token("legacy", token, None)


def test_a_token_with_one_dot_is_not_taken_for_a_jwt() -> None:
    assert classify("abc.def", now=NOW).kind == "legacy"


def test_expiry_is_checked_against_the_clock_when_now_is_not_given() -> None:
    with pytest.raises(TokenProblem, match="expired"):
        classify(jwt(token_type="refresh", exp=1))
    assert classify(jwt(token_type="refresh", exp=4_000_000_000)).kind == "personal"


def test_jwt_claims_reads_unpadded_base64url() -> None:
    claims = {"token_type": "refresh", "exp": 1, "name": "ü?>"}  # its base64url has a "-" and no padding
    assert jwt_claims(jwt(**claims)) == claims
    assert jwt_claims("0123456789abcdef") is None


@pytest.mark.parametrize("token", ["0123456789abcdef0123456789abcdef0123456",  # 39: cut when copied
                                   "0123456789abcdef0123456789abcdef012345678", "x" * 41, "abcde"])
def test_a_legacy_token_of_an_impossible_length_is_malformed_before_any_request(token: str) -> None:
    assert problem(token) == (f"the token is malformed: it has {len(token)} characters, and a legacy token has 40 hex "
                              "digits (a Personal Access Token is a JWT, with two dots): copy it again whole, or create "
                              "a Personal Access Token in Label Studio (Account & Settings > Personal Access Token) "
                              "and set it in LABEL_STUDIO_API_KEY")


def test_a_chosen_legacy_token_that_is_not_all_hex_may_have_another_length() -> None:
    assert classify("team-token-for-ci", now=NOW).kind == "legacy"
