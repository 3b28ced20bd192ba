"""Redaction: every secret lsts-sync holds is masked in messages, logs and the CLI's error line."""

from __future__ import annotations

import logging

import pytest

from lsts_sync.cli import main as cli
from lsts_sync.cli import spec_commands
from lsts_sync.core import secrets
from lsts_sync.core.errors import LstsError
from lsts_sync.core.stats import RequestStats
from lsts_sync.live.s3 import S3Buckets


def test_registered_secrets_are_masked_longest_first() -> None:
    secrets.register("abcd-secret", "abcd-secret-and-more", "", None, "ab")
    text = secrets.redact("x abcd-secret-and-more y abcd-secret z ab")
    assert text == "x (sensitive) y (sensitive) z ab"  # "ab" is too short to be a secret


def test_log_records_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    secrets.register("log-secret-value")
    logger = logging.getLogger("lsts_sync.test")
    logger.addFilter(secrets.RedactingFilter())
    with caplog.at_level(logging.DEBUG, logger="lsts_sync.test"):
        logger.debug("token %s in a log line", "log-secret-value")
    assert caplog.messages == ["token (sensitive) in a log line"]


def test_aws_secret_key_and_session_token_are_registered_when_read(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-from-chain-1")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "aws-session-from-chain-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    S3Buckets({}, RequestStats()).credentials()
    assert secrets.redact("aws-secret-from-chain-1 aws-session-from-chain-1") == "(sensitive) (sensitive)"


@pytest.mark.parametrize("variable", cli.SECRET_VARIABLES)
def test_cli_error_line_never_shows_a_secret_variable(variable: str, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture, tmp_path) -> None:
    value = f"value-of-{variable.lower()}"
    monkeypatch.setenv(variable, value)

    def fail(*args, **kwargs):
        raise LstsError(f"server said: bad credential {value}")

    monkeypatch.setattr(spec_commands, "load_or_exit", fail)
    with pytest.raises(SystemExit) as exit:
        cli.main(["validate", str(tmp_path)])
    assert exit.value.code == 1
    assert capsys.readouterr().err.strip() == "Error: server said: bad credential (sensitive)"
