"""Transport to one Label Studio server: auth, retries by kind of operation, errors, redaction, paging.

Every request lsts-sync makes to Label Studio goes through ``LabelStudioHttp.call``, so each one is
counted, each failure becomes one ``LstsError`` line naming the instance and what was being done,
and no secret reaches a message or a log.

Retries depend on what a repeat would do (``Kind``):

- ``read`` and ``update`` (GET, PATCH, and POSTs that only check) are repeated on a connection
  error, 429 or 5xx;
- ``create`` asks ``confirm`` (find what a lost attempt made, by its marker) before repeating: once
  after an error answer (the server is done with that request), and again and again for up to
  ``settle`` seconds after a lost answer (a timeout or a dropped connection: the server may still be
  working on it, and neither Django's server nor gunicorn stops a request whose client went away);
- ``delete`` is repeated, and a 404 after a failed attempt means the first one went through;
- ``action`` (a sync) is repeated only when the request surely never left (connection refused),
  or when ``confirm`` (read the storage's status) says it did not start; a ``create`` or ``action``
  without ``confirm`` is never repeated after an answer may have been lost.

A 429 is asked about too before a create is repeated (a proxy may answer it after forwarding).
401 and 403 are never retried. ``Retry-After`` is honoured (at most ``MAX_WAIT`` seconds); other
waits back off exponentially with jitter.

Why not label-studio-sdk's client: its pager asks for one page past the end (a 404), its token code
raises before any request for an expired key, and its retries cannot look for a marker before
re-posting a create; the SDK stays the tests' independent client.
"""

from __future__ import annotations

import email.utils
import logging
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO, Literal

from lsts_sync.core.errors import LstsError
from lsts_sync.core.secrets import redact, register
from lsts_sync.core.stats import RequestStats
from lsts_sync.live.ls_auth import GET_A_TOKEN, Token, TokenProblem, classify

# httpx's package __init__ imports its command-line tool (httpx._main), which imports rich and
# pygments whenever they are installed: about 75 ms of CPU before lsts-sync's first request, for a
# tool lsts-sync never runs. A None entry makes that import fail, and httpx then goes without it
# (its __init__ expects the ImportError). No effect if httpx was imported before.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402

log = logging.getLogger(__name__)
Kind = Literal["read", "update", "create", "delete", "action"]
TRANSIENT = frozenset({429, 500, 502, 503, 504})
# After a lost answer to a create (timeout, dropped connection), how long its confirm keeps looking
# for what the attempt made before the create is repeated, and the longest pause between looks.
SETTLE_SECONDS = 30.0
SETTLE_STEP_MAX = 5.0
# How many times a list that changed while it was read is read (a shared server has other writers).
LIST_READS = 3
MAX_WAIT = 60.0
PAGE_SIZE = 1000
MAX_PAGES = 10_000  # 10 million items: past that a server that always names a next page is broken
DOWNLOAD_CHUNK = 1 << 20  # bytes copied at a time by download()
REFRESH_MARGIN = 30.0  # refresh an access token this many seconds before it expires


class HttpError(LstsError):
    """A Label Studio answer that is an error; ``status`` is its HTTP status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class LabelStudioHttp:
    """Requests to one Label Studio; ``sleep`` and ``transport`` are seams for tests.

    Safe to share between threads (``--parallelism``): httpx's client and its connection pool are,
    the token exchange runs under a lock and the request counter has its own; retries keep their
    state in local variables of ``call``.
    """

    def __init__(self, name: str, url: str, token: str, stats: RequestStats, *, timeout: float = 60.0,
                 attempts: int = 4, backoff: float = 0.5, page_size: int = PAGE_SIZE, settle: float = SETTLE_SECONDS,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep):
        register(token)
        self.name, self.url, self.stats = name, url.rstrip("/"), stats
        self.attempts, self.backoff, self.page_size, self.sleep = attempts, backoff, page_size, sleep
        self.settle = settle
        self._raw_token = token
        self._token: Token | None = None
        self._access: Token | None = None
        self._auth_lock = threading.Lock()  # one token exchange at a time when reads run in threads
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport,
                                  event_hooks={"request": [self._count]})

    # -- auth -------------------------------------------------------------------------------
    def _count(self, request: httpx.Request) -> None:
        self.stats.record(request.method)
        log.debug("%s %s", request.method, request.url.raw_path.decode("ascii", "replace"))  # path and query

    def _header(self) -> str:
        """The Authorization header; thread-safe (an access token is exchanged once, not per thread)."""
        with self._auth_lock:
            return self._header_locked()

    def _header_locked(self) -> str:
        if self._token is None:
            try:
                self._token = classify(self._raw_token)
            except TokenProblem as exc:
                raise LstsError(f"instance {self.name}: {exc}") from None
        if self._token.kind == "legacy":
            return f"Token {self._token.value}"
        if self._token.kind == "access":
            return f"Bearer {self._token.value}"
        if self._access is None or (self._access.expires or 0) - REFRESH_MARGIN < time.time():
            self._access = self._refresh()
        return f"Bearer {self._access.value}"

    def _refresh(self) -> Token:
        """Exchange the Personal Access Token for an access token (``POST /api/token/refresh/``)."""
        response = self._send("POST", "api/token/refresh/", "exchange the Personal Access Token",
                              json={"refresh": self._raw_token}, headers={})
        if response.status_code in (401, 403):
            raise HttpError(f"instance {self.name}: the Personal Access Token was refused ({response.status_code}) "
                            f"by {self.url}: it was revoked or belongs to another Label Studio; {GET_A_TOKEN}",
                            response.status_code)
        access = self._json(response, "exchange the Personal Access Token").get("access") \
            if response.status_code < 400 else None
        if not isinstance(access, str):
            raise HttpError(f"instance {self.name}: exchanging the Personal Access Token failed with HTTP "
                            f"{response.status_code}: {self._short(response.text)}", response.status_code)
        register(access)
        try:
            return classify(access)
        except TokenProblem:
            return Token("access", access, time.time() + 60)

    def _refused(self, status: int, what: str) -> HttpError:
        kind = self._token.kind if self._token else "legacy"
        hint = {"legacy": "check LABEL_STUDIO_API_KEY, or use a Personal Access Token (legacy tokens must be "
                          "enabled in the organisation)",
                "personal": GET_A_TOKEN, "access": GET_A_TOKEN}[kind]
        reason = "the token was refused" if status == 401 else "the token's user may not do this"
        return HttpError(f"instance {self.name}: {reason} ({status}) by {self.url} while trying to {what}: {hint}",
                         status)

    # -- requests ---------------------------------------------------------------------------
    def _send(self, method: str, path: str, what: str, *, headers: dict[str, str] | None = None,
              stream: bool = False, **kwargs: Any) -> httpx.Response:
        """One request; transport failures become HttpError(status 0) with a redacted reason.
        With ``stream`` a successful answer's body is left unread (the caller reads and closes it);
        an error answer's body is always read, for its message."""
        try:
            request = self._http.build_request(method, path, headers=headers if headers is not None else
                                               {"Authorization": self._header()}, **kwargs)
            response = self._http.send(request, stream=stream)
            if stream and response.status_code >= 400:
                response.read()
            return response
        except httpx.TransportError as exc:
            raise self._unreachable(exc, what) from None

    def _unreachable(self, exc: httpx.TransportError, what: str) -> HttpError:
        reason = redact(str(exc) or exc.__class__.__name__)
        error = HttpError(f"instance {self.name}: cannot reach {self.url} ({what}): {reason}", 0)
        error.unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))  # type: ignore[attr-defined]
        return error

    def call(self, method: str, path: str, what: str, *, kind: Kind = "read",
             confirm: Callable[[], Any] | None = None, **kwargs: Any) -> httpx.Response | Any:
        """Make a request with the retries of ``kind``; returns the successful response.

        For ``create`` and ``action``, a non-None result of ``confirm`` (asked before a repeat)
        is returned instead of a response: what the lost attempt did.
        """
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._send(method, path, what, **kwargs)
            except HttpError as exc:
                if exc.status in (401, 403):  # a refused token (its exchange included) is never retried
                    raise
                unsent = getattr(exc, "unsent", False)
                blind = kind in ("create", "action") and not unsent and confirm is None
                if attempt == self.attempts or blind:
                    raise
                self._wait(attempt, None, what, str(exc))
                found = self._confirm(kind, confirm, unsent, settle=self.settle)
                if found is not None:
                    return found
                continue
            status = response.status_code
            if status < 400:
                return response
            if kind == "delete" and status == 404 and attempt > 1:
                log.debug("instance %s: %s: gone on retry, the first attempt went through", self.name, what)
                return response
            if status in (401, 403):
                raise self._refused(status, what)
            blind = kind in ("create", "action") and confirm is None and status != 429
            if status not in TRANSIENT or attempt == self.attempts or blind:
                raise HttpError(f"instance {self.name}: {what} failed with HTTP {status}: "
                                f"{self._short(response.text)}", status)
            self._wait(attempt, response.headers.get("Retry-After"), what, f"HTTP {status}")
            found = self._confirm(kind, confirm, False)
            if found is not None:
                return found
        raise AssertionError("unreachable")

    def _confirm(self, kind: Kind, confirm: Callable[[], Any] | None, unsent: bool, settle: float = 0.0) -> Any:
        """What ``confirm`` finds of a failed attempt (None: nothing, so the request may be repeated).

        Asked once, and while nothing is found again after 1, 2, 4... seconds (at most
        ``SETTLE_STEP_MAX`` apart) until ``settle`` seconds have been waited: a lost attempt may
        still commit. Never asked for a request that surely never left (``unsent``)."""
        if kind not in ("create", "action") or confirm is None or unsent:
            return None
        waited, step = 0.0, 1.0
        while True:
            found = confirm()
            if found is not None:
                log.debug("instance %s: the failed attempt had gone through", self.name)
                return found
            if waited >= settle:
                return None
            pause = min(step, SETTLE_STEP_MAX, settle - waited)
            self.sleep(pause)
            waited, step = waited + pause, step * 2

    def _wait(self, attempt: int, retry_after: str | None, what: str, reason: str) -> None:
        delay = _retry_after(retry_after)
        if delay is None:
            delay = self.backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
        delay = min(delay, MAX_WAIT)
        log.debug("instance %s: %s failed (%s), retry %d/%d in %.1fs", self.name, what, redact(reason),
                  attempt, self.attempts - 1, delay)
        self.sleep(delay)

    def download(self, path: str, what: str, sink: BinaryIO, **params: Any) -> int:
        """GET ``path`` and copy the answer's body into ``sink`` in chunks (never whole in memory);
        returns the number of bytes written.

        A read like any other: retried on a connection error, 429 or 5xx with the same errors and
        redaction as ``call``. A connection that breaks part-way through the body is retried too,
        with ``sink`` emptied first (it must be seekable), so ``sink`` never holds a cut body.
        """
        for attempt in range(1, self.attempts + 1):
            response = self.call("GET", path, what, params=params or None, stream=True)
            sink.seek(0)
            sink.truncate()
            try:
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK):
                    sink.write(chunk)
                return sink.tell()
            except httpx.TransportError as exc:
                error = self._unreachable(exc, what)
                if attempt == self.attempts:
                    raise error from None
                self._wait(attempt, None, what, str(error))
            finally:
                response.close()
        raise AssertionError("unreachable")

    # -- payloads ---------------------------------------------------------------------------
    def _short(self, text: str) -> str:
        """A server's answer as one redacted line of at most 300 characters."""
        return " ".join(redact(text).split())[:300]

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise HttpError(f"instance {self.name}: {what}: the answer is not JSON: {self._short(response.text)}",
                            response.status_code) from None

    def get_json(self, path: str, what: str, **params: Any) -> Any:
        return self._json(self.call("GET", path, what, params=params or None), what)

    def send_json(self, method: str, path: str, what: str, body: dict | list, *, kind: Kind,
                  confirm: Callable[[], Any] | None = None) -> Any:
        """A write with a JSON body; returns the decoded answer (or what ``confirm`` found)."""
        response = self.call(method, path, what, kind=kind, confirm=confirm, json=body)
        return self._json(response, what) if isinstance(response, httpx.Response) else response

    def get_list(self, path: str, what: str, **params: Any) -> list[dict]:
        """Every item of a list endpoint: a plain JSON list, or pages followed by ``next``.

        Pages are asked for by number while the answer names a ``next`` page; the total must equal
        the answer's ``count`` (a count that is a multiple of the page size ends on ``next: null``).
        A list that changed while it was read (another writer on a shared server) is read again, up
        to ``LIST_READS`` times in all, then an error. Any other shape is an error, never an empty list.
        """
        for _ in range(LIST_READS):
            items, count = self._read_pages(path, what, params)
            if count is None or count == len(items):
                return items
            log.debug("instance %s: %s: read %d items, the server counts %d; reading again", self.name, what,
                      len(items), count)
        raise LstsError(f"instance {self.name}: {what}: read {len(items)} items but the server counts "
                        f"{count} (the list changed while it was read, {LIST_READS} times); run again")

    def _read_pages(self, path: str, what: str, params: dict[str, Any]) -> tuple[list[dict], int | None]:
        """One pass over the pages: the items, and the last page's ``count`` (None: a plain list)."""
        first = self.get_json(path, what, **params, page=1, page_size=self.page_size)
        if isinstance(first, list):
            return self._items(first, what), None
        items: list[dict] = []
        page, data = 1, first
        while True:
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise LstsError(f"instance {self.name}: {what}: unexpected answer (no list of results)")
            items.extend(self._items(data["results"], what))
            if not data.get("next"):
                break
            page += 1
            if page > MAX_PAGES:
                raise LstsError(f"instance {self.name}: {what}: more than {MAX_PAGES} pages; the server keeps "
                                "naming a next page")
            data = self.get_json(path, what, **params, page=page, page_size=self.page_size)
        count = data.get("count")
        return items, count if isinstance(count, int) else None

    def _items(self, items: list, what: str) -> list[dict]:
        if not all(isinstance(item, dict) for item in items):
            raise LstsError(f"instance {self.name}: {what}: unexpected answer (a list of non-objects)")
        return items


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
