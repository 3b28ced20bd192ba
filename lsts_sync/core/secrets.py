"""Every secret lsts-sync holds, registered once, and redaction of text that might contain one.

Contract: whoever reads a secret (a Label Studio token, an access token it was exchanged for, an AWS
secret key or session token) calls ``register``; every message, log line and traceback that leaves
the process goes through ``redact``. A process-wide registry is deliberate: an error can be raised
far from the client that holds the secret, and redaction must not depend on who formats it.
"""

from __future__ import annotations

import logging
import threading

MASK = "(sensitive)"
_SECRETS: set[str] = set()
MIN_LENGTH = 4  # shorter values would mask ordinary words
_LOCK = threading.Lock()  # reads run in threads (--parallelism): never iterate the set while it grows


def register(*values: str | None) -> None:
    """Remember secrets to mask; empty and very short values are ignored."""
    with _LOCK:
        _SECRETS.update(v for v in values if v and len(v) >= MIN_LENGTH)


def redact(text: str, extra: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with every registered (and ``extra``) secret replaced by ``(sensitive)``.

    Longer secrets first, so a secret that contains another is masked whole.
    """
    with _LOCK:
        known = set(_SECRETS)
    for secret in sorted({*known, *(e for e in extra if e and len(e) >= MIN_LENGTH)}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in every record (``--debug`` included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        return True
