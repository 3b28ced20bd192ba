"""The Label Studio transport, offline: retries by kind of operation, auth by token kind, paging, errors.

Every test drives ``LabelStudioHttp`` through ``httpx.MockTransport`` with a scripted server that
records what was asked, and a ``sleep`` that only records how long it would have waited.
"""

from __future__ import annotations

import base64
import email.utils
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.core.stats import RequestStats
from lsts_sync.live import ls_http
from lsts_sync.live.ls_http import HttpError, LabelStudioHttp

URL = "http://ls.example"
LEGACY = "f" * 40

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Server:
    """Answers requests from a script, in order, and records every request it was sent."""

    def __init__(self, *answers: Answer, default: Answer | None = None):
        self.answers = list(answers)
        self.default = default
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            answer = self.answers.pop(0)
        elif self.default is not None:
            answer = self.default
        else:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    def methods(self) -> list[str]:
        return [r.method for r in self.requests]


def client(server: Server, token: str = LEGACY, **kwargs: Any) -> tuple[LabelStudioHttp, list[float]]:
    sleeps: list[float] = []
    http = LabelStudioHttp("main", URL, token, RequestStats(), transport=httpx.MockTransport(server),
                           sleep=sleeps.append, **kwargs)
    return http, sleeps


def ok(body: Any = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={} if body is None else body)


def fail(status: int, text: str = "upstream trouble", **headers: str) -> httpx.Response:
    return httpx.Response(status, text=text, headers=headers)


def connect_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def read_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def jwt(**claims: Any) -> str:
    """An unsigned JWT-shaped token (header.payload.signature, base64url without padding)."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


# -- reads: retried on transient answers, never on refusals ----------------------------------------

def test_get_is_retried_on_502_then_succeeds() -> None:
    server = Server(fail(502), ok({"id": 1}))
    http, sleeps = client(server)
    assert http.get_json("api/projects/1", "read project") == {"id": 1}
    assert server.methods() == ["GET", "GET"]
    assert len(sleeps) == 1
    assert http.stats.by_method == {"GET": 2}


def test_get_sends_a_legacy_token_as_token_authorization() -> None:
    server = Server(ok())
    http, _ = client(server)
    http.get_json("api/projects/", "list projects")
    assert server.requests[0].headers["Authorization"] == f"Token {LEGACY}"


def test_401_is_not_retried_and_the_message_never_shows_the_token() -> None:
    server = Server(fail(401, "Invalid token."), default=ok())
    http, sleeps = client(server)
    with pytest.raises(HttpError) as caught:
        http.get_json("api/projects/", "list projects")
    assert caught.value.status == 401
    assert len(server.requests) == 1 and sleeps == []
    message = str(caught.value)
    assert "the token was refused (401)" in message
    assert "while trying to list projects" in message and "instance main" in message
    assert LEGACY not in message


def test_403_is_not_retried() -> None:
    server = Server(fail(403), default=ok())
    http, sleeps = client(server)
    with pytest.raises(HttpError, match=r"the token's user may not do this \(403\)") as caught:
        http.get_json("api/projects/", "list projects")
    assert caught.value.status == 403
    assert len(server.requests) == 1 and sleeps == []


def test_a_non_transient_error_is_not_retried() -> None:
    server = Server(fail(400, "bad request"), default=ok())
    http, _ = client(server)
    with pytest.raises(HttpError, match="list projects failed with HTTP 400: bad request"):
        http.get_json("api/projects/", "list projects")
    assert len(server.requests) == 1


def test_transient_errors_on_every_attempt_raise_after_the_last_attempt() -> None:
    server = Server(default=fail(503))
    http, sleeps = client(server)
    with pytest.raises(HttpError, match="failed with HTTP 503") as caught:
        http.get_json("api/projects/", "list projects")
    assert caught.value.status == 503
    assert len(server.requests) == 4 and len(sleeps) == 3


# -- waits ---------------------------------------------------------------------------------------

def test_retry_after_is_honoured_exactly() -> None:
    server = Server(fail(429, "slow down", **{"Retry-After": "7"}), ok())
    http, sleeps = client(server)
    http.get_json("api/projects/", "list projects")
    assert sleeps == [7.0]


def test_retry_after_is_capped() -> None:
    server = Server(fail(429, **{"Retry-After": "3600"}), ok())
    http, sleeps = client(server)
    http.get_json("api/projects/", "list projects")
    assert sleeps == [ls_http.MAX_WAIT]


def test_retry_after_as_an_http_date_is_honoured() -> None:
    date = email.utils.formatdate(time.time() + 20, usegmt=True)
    server = Server(fail(503, **{"Retry-After": date}), ok())
    http, sleeps = client(server)
    http.get_json("api/projects/", "list projects")
    assert len(sleeps) == 1 and 15.0 <= sleeps[0] <= 21.0


def test_without_retry_after_waits_back_off_with_jitter_within_bounds() -> None:
    server = Server(fail(502), fail(502), ok())
    http, sleeps = client(server, backoff=0.5)
    http.get_json("api/projects/", "list projects")
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.75
    assert 0.5 <= sleeps[1] <= 1.5


@pytest.mark.parametrize("jitter", ["low", "high"])
def test_backoff_doubles_each_attempt(jitter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls_http.random, "uniform", lambda a, b: a if jitter == "low" else b)
    server = Server(fail(502), fail(502), fail(502), ok())
    http, sleeps = client(server, backoff=0.5)
    http.get_json("api/projects/", "list projects")
    factor = 0.5 if jitter == "low" else 1.5
    assert sleeps == [0.5 * factor, 1.0 * factor, 2.0 * factor]


# -- deletes --------------------------------------------------------------------------------------

def test_delete_404_after_a_failed_attempt_means_it_went_through() -> None:
    server = Server(fail(502), fail(404, "Not found."))
    http, _ = client(server)
    response = http.call("DELETE", "api/projects/7/", "delete project p1", kind="delete")
    assert response.status_code == 404
    assert server.methods() == ["DELETE", "DELETE"]


def test_delete_404_on_the_first_attempt_is_an_error() -> None:
    server = Server(fail(404, "Not found."), default=ok())
    http, _ = client(server)
    with pytest.raises(HttpError) as caught:
        http.call("DELETE", "api/projects/7/", "delete project p1", kind="delete")
    assert caught.value.status == 404
    assert len(server.requests) == 1


def test_a_read_404_after_a_failed_attempt_is_still_an_error() -> None:
    server = Server(fail(502), fail(404, "Not found."))
    http, _ = client(server)
    with pytest.raises(HttpError) as caught:
        http.call("GET", "api/projects/7/", "read project p1")
    assert caught.value.status == 404


# -- creates ----------------------------------------------------------------------------------------

def test_create_asks_confirm_and_does_not_post_again_when_the_first_went_through() -> None:
    server = Server(fail(502), default=ok({"id": 99}, 201))
    http, _ = client(server)
    asked: list[int] = []

    def confirm() -> int:
        asked.append(1)
        return 42

    assert http.call("POST", "api/projects/", "create project p1", kind="create", confirm=confirm,
                     json={"title": "p1"}) == 42
    assert server.methods() == ["POST"]
    assert asked == [1]


def test_create_posts_again_when_confirm_finds_nothing() -> None:
    server = Server(fail(502), ok({"id": 99}, 201))
    http, _ = client(server)
    assert http.send_json("POST", "api/projects/", "create project p1", {"title": "p1"}, kind="create",
                          confirm=lambda: None) == {"id": 99}
    assert server.methods() == ["POST", "POST"]


def test_create_after_a_read_timeout_asks_confirm_before_posting_again() -> None:
    server = Server(read_timeout, default=ok({"id": 99}, 201))
    http, _ = client(server)
    assert http.call("POST", "api/projects/", "create project p1", kind="create", confirm=lambda: 42,
                     json={"title": "p1"}) == 42
    assert server.methods() == ["POST"]


def test_create_whose_request_never_left_posts_again_without_asking_confirm() -> None:
    server = Server(connect_error, ok({"id": 99}, 201))
    http, _ = client(server)

    def confirm() -> int:
        raise AssertionError("a refused connection sent nothing; nothing to confirm")

    assert http.send_json("POST", "api/projects/", "create project p1", {"title": "p1"}, kind="create",
                          confirm=confirm) == {"id": 99}
    assert server.methods() == ["POST", "POST"]


def test_create_after_429_asks_confirm_once_then_posts_again() -> None:
    """A 429 may come from a proxy that forwarded the request: what it made is looked for first."""
    server = Server(fail(429), ok({"id": 99}, 201))
    http, sleeps = client(server)
    asked: list[int] = []

    def confirm() -> None:
        asked.append(1)

    assert http.send_json("POST", "api/projects/", "create project p1", {"title": "p1"}, kind="create",
                          confirm=confirm) == {"id": 99}
    assert server.methods() == ["POST", "POST"] and len(asked) == 1 and len(sleeps) == 1


def test_after_a_lost_answer_confirm_keeps_looking_until_the_attempt_shows() -> None:
    """A timeout leaves the server working on the create: confirm is asked again after 1, 2, 4 s
    and what it finds on the third look is the answer; the create is not sent again."""
    server = Server(read_timeout)
    http, sleeps = client(server, settle=30.0)
    looks = iter([None, None, 41])
    assert http.send_json("POST", "api/projects/", "create project p1", {"title": "p1"}, kind="create",
                          confirm=lambda: next(looks)) == 41
    assert server.methods() == ["POST"]
    assert sleeps[1:] == [1.0, 2.0]  # the retry's back-off, then the settle pauses


def test_after_a_lost_answer_the_create_is_repeated_only_once_settle_has_passed() -> None:
    server = Server(read_timeout, ok({"id": 7}, 201))
    http, sleeps = client(server, settle=12.0)
    looks: list[int] = []

    def confirm() -> None:
        looks.append(1)

    assert http.send_json("POST", "api/projects/", "create project p1", {"title": "p1"}, kind="create",
                          confirm=confirm) == {"id": 7}
    assert sleeps[1:] == [1.0, 2.0, 4.0, 5.0] and len(looks) == 5  # 12 s of looks, at most 5 s apart
    assert server.methods() == ["POST", "POST"]


def test_after_an_error_answer_confirm_is_asked_once() -> None:
    """A 5xx answer means the server is done with that request: one look decides."""
    server = Server(fail(500), ok({"id": 7}, 201))
    http, sleeps = client(server, settle=30.0)
    looks: list[int] = []

    def confirm() -> None:
        looks.append(1)

    http.send_json("POST", "api/projects/", "create project p1", {"title": "p1"}, kind="create", confirm=confirm)
    assert len(looks) == 1 and len(sleeps) == 1


# -- actions (syncs) --------------------------------------------------------------------------------

def test_action_without_confirm_is_never_posted_again_blindly() -> None:
    server = Server(fail(502), default=ok())
    http, sleeps = client(server)
    with pytest.raises(HttpError) as caught:
        http.call("POST", "api/storages/s3/3/sync", "sync storage p1/source", kind="action")
    assert caught.value.status == 502
    assert server.methods() == ["POST"] and sleeps == []


def test_action_without_confirm_after_a_read_timeout_is_not_posted_again() -> None:
    server = Server(read_timeout, default=ok())
    http, _ = client(server)
    with pytest.raises(HttpError, match="cannot reach"):
        http.call("POST", "api/storages/s3/3/sync", "sync storage p1/source", kind="action")
    assert server.methods() == ["POST"]


def test_action_whose_request_never_left_is_posted_again() -> None:
    server = Server(connect_error, ok())
    http, _ = client(server)
    response = http.call("POST", "api/storages/s3/3/sync", "sync storage p1/source", kind="action")
    assert response.status_code == 200
    assert server.methods() == ["POST", "POST"]


def test_action_is_posted_again_when_confirm_says_it_did_not_start() -> None:
    server = Server(fail(502), ok())
    http, _ = client(server)
    response = http.call("POST", "api/storages/s3/3/sync", "sync storage p1/source", kind="action",
                         confirm=lambda: None)
    assert response.status_code == 200
    assert server.methods() == ["POST", "POST"]


def test_action_is_not_posted_again_when_confirm_says_it_started() -> None:
    server = Server(fail(502), default=ok())
    http, _ = client(server)
    assert http.call("POST", "api/storages/s3/3/sync", "sync storage p1/source", kind="action",
                     confirm=lambda: True) is True
    assert server.methods() == ["POST"]


def test_action_after_a_read_timeout_is_not_posted_again_when_confirm_says_it_started() -> None:
    server = Server(read_timeout, default=ok())
    http, _ = client(server)
    assert http.call("POST", "api/storages/s3/3/sync", "sync storage p1/source", kind="action",
                     confirm=lambda: True) is True
    assert server.methods() == ["POST"]


# -- paging ------------------------------------------------------------------------------------------

def page(count: int, results: list[dict], next_page: int | None) -> httpx.Response:
    return ok({"count": count, "next": f"{URL}/api/projects/?page={next_page}" if next_page else None,
               "previous": None, "results": results})


def test_get_list_follows_next_and_stops_on_null_when_count_is_a_multiple_of_the_page_size() -> None:
    items = [{"id": i} for i in range(1, 5)]
    server = Server(page(4, items[:2], 2), page(4, items[2:], None))
    http, _ = client(server, page_size=2)
    assert http.get_list("api/projects/", "list projects", fields="id") == items
    assert server.methods() == ["GET", "GET"]
    asked = [dict(r.url.params) for r in server.requests]
    assert asked == [{"fields": "id", "page": "1", "page_size": "2"},
                     {"fields": "id", "page": "2", "page_size": "2"}]


def test_get_list_reads_a_last_partial_page() -> None:
    items = [{"id": i} for i in range(1, 6)]
    server = Server(page(5, items[:2], 2), page(5, items[2:4], 3), page(5, items[4:], None))
    http, _ = client(server, page_size=2)
    assert http.get_list("api/projects/", "list projects") == items
    assert len(server.requests) == 3


def test_get_list_returns_a_plain_list_as_is() -> None:
    items = [{"id": 1}, {"id": 2}, {"id": 3}]
    server = Server(ok(items))
    http, _ = client(server, page_size=2)
    assert http.get_list("api/storages/s3", "list storages", project=3) == items
    assert len(server.requests) == 1


def test_get_list_refuses_a_dict_without_results() -> None:
    server = Server(ok({"count": 0, "detail": "something else"}))
    http, _ = client(server)
    with pytest.raises(LstsError, match="no list of results"):
        http.get_list("api/projects/", "list projects")


def test_get_list_refuses_a_list_of_non_objects() -> None:
    server = Server(ok([1, 2]))
    http, _ = client(server)
    with pytest.raises(LstsError, match="list of non-objects"):
        http.get_list("api/projects/", "list projects")


def test_get_list_refuses_a_count_that_never_matches_what_was_read() -> None:
    server = Server(default=page(5, [{"id": 1}, {"id": 2}], None))
    http, _ = client(server, page_size=2)
    with pytest.raises(LstsError, match=r"read 2 items but the server counts 5 \(the list changed while it was "
                                        r"read, 3 times\); run again"):
        http.get_list("api/projects/", "list projects")
    assert len(server.requests) == 3


def test_a_list_that_changed_while_it_was_read_is_read_again() -> None:
    """Another writer added a project between the count and the page: the second read is whole."""
    server = Server(page(3, [{"id": 1}, {"id": 2}], None), page(3, [{"id": 1}, {"id": 2}, {"id": 3}], None))
    http, _ = client(server, page_size=5)
    assert [i["id"] for i in http.get_list("api/projects/", "list projects")] == [1, 2, 3]
    assert len(server.requests) == 2


def test_a_non_json_answer_is_an_error() -> None:
    server = Server(httpx.Response(200, text="<html>login</html>"))
    http, _ = client(server)
    with pytest.raises(HttpError, match="the answer is not JSON"):
        http.get_json("api/projects/", "list projects")


# -- Personal Access Tokens --------------------------------------------------------------------------

def test_a_personal_access_token_is_exchanged_once_and_the_access_token_sent_as_bearer() -> None:
    refresh = jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-exchange-1")
    access = jwt(token_type="access", exp=int(time.time()) + 300, jti="access-exchange-1")
    server = Server(ok({"access": access}), ok({"id": 1}), ok({"id": 2}))
    http, _ = client(server, token=refresh)
    assert http.get_json("api/projects/1", "read project") == {"id": 1}
    assert http.get_json("api/projects/2", "read project") == {"id": 2}
    exchange, first, second = server.requests
    assert (exchange.method, exchange.url.path) == ("POST", "/api/token/refresh/")
    assert json.loads(exchange.content) == {"refresh": refresh}
    assert "authorization" not in exchange.headers
    assert first.headers["Authorization"] == f"Bearer {access}"
    assert second.headers["Authorization"] == f"Bearer {access}"


def test_an_access_token_about_to_expire_is_exchanged_again() -> None:
    refresh = jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-exchange-2")
    short = jwt(token_type="access", exp=int(time.time()) + 10, jti="access-short-2")  # within REFRESH_MARGIN
    fresh = jwt(token_type="access", exp=int(time.time()) + 300, jti="access-fresh-2")
    server = Server(ok({"access": short}), ok(), ok({"access": fresh}), ok())
    http, _ = client(server, token=refresh)
    http.get_json("api/projects/", "list projects")
    http.get_json("api/projects/", "list projects")
    assert server.methods() == ["POST", "GET", "POST", "GET"]
    assert server.requests[3].headers["Authorization"] == f"Bearer {fresh}"


def test_an_access_token_is_sent_as_bearer_without_an_exchange() -> None:
    access = jwt(token_type="access", exp=int(time.time()) + 300, jti="access-direct-3")
    server = Server(ok())
    http, _ = client(server, token=access)
    http.get_json("api/projects/", "list projects")
    assert server.methods() == ["GET"]
    assert server.requests[0].headers["Authorization"] == f"Bearer {access}"


def test_a_refused_personal_access_token_is_one_line_without_either_token() -> None:
    refresh = jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-refused-4")
    access = jwt(token_type="access", exp=int(time.time()) + 300, jti="access-unused-4")

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/token/refresh/":
            return httpx.Response(401, json={"detail": f"Token is invalid: {refresh}"})
        return ok({"access": access})

    server = Server(default=answer)
    http, _ = client(server, token=refresh)
    with pytest.raises(HttpError) as caught:
        http.get_json("api/projects/", "list projects")
    message = str(caught.value)
    assert caught.value.status == 401
    assert "the Personal Access Token was refused (401)" in message
    assert "\n" not in message
    assert refresh not in message and access not in message
    assert all(r.url.path == "/api/token/refresh/" for r in server.requests)  # never a GET without a token


def test_the_access_token_a_personal_access_token_is_exchanged_for_is_a_registered_secret() -> None:
    """The access token is a credential too: once exchanged it is masked wherever it shows up,
    here in an error answer that echoes it back, and in any text that goes through ``redact``."""
    from lsts_sync.core.secrets import MASK, redact

    refresh = jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-registered-7")
    access = jwt(token_type="access", exp=int(time.time()) + 300, jti="access-registered-7")
    assert redact(f"before the exchange: {access}") == f"before the exchange: {access}"  # not yet a secret
    server = Server(ok({"access": access}), fail(400, f"bad header: Bearer {access}"))
    http, _ = client(server, token=refresh)
    with pytest.raises(HttpError) as caught:
        http.get_json("api/projects/", "list projects")
    assert server.requests[1].headers["Authorization"] == f"Bearer {access}"  # it was exchanged and used
    assert access not in str(caught.value) and f"Bearer {MASK}" in str(caught.value)
    assert redact(f"log line: {access}") == f"log line: {MASK}"


def test_a_refused_personal_access_token_is_not_retried() -> None:
    refresh = jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-refused-5")
    server = Server(default=httpx.Response(401, json={"detail": "Token is invalid"}))
    http, sleeps = client(server, token=refresh)
    with pytest.raises(HttpError, match="the Personal Access Token was refused"):
        http.get_json("api/projects/", "list projects")
    assert len(server.requests) == 1 and sleeps == []  # the exchange's refusal is not retried either


def test_an_expired_personal_access_token_is_reported_before_any_request() -> None:
    expired = jwt(token_type="refresh", exp=int(time.time()) - 60, jti="pat-expired-6")
    server = Server(default=ok())
    http, _ = client(server, token=expired)
    with pytest.raises(LstsError, match="instance main: the Personal Access Token expired on") as caught:
        http.get_json("api/projects/", "list projects")
    assert expired not in str(caught.value)
    assert server.requests == []


# -- errors and redaction ----------------------------------------------------------------------------

def test_an_error_body_that_echoes_the_token_is_redacted() -> None:
    token = "e" * 40
    server = Server(fail(400, f"bad request: Authorization: Token {token} is not allowed here"))
    http, _ = client(server, token=token)
    with pytest.raises(HttpError) as caught:
        http.get_json("api/projects/", "list projects")
    message = str(caught.value)
    assert token not in message
    assert "Token (sensitive) is not allowed here" in message


def test_a_long_multi_line_error_body_becomes_one_short_line() -> None:
    server = Server(fail(400, "line one\nline two\n" + "x" * 1000))
    http, _ = client(server)
    with pytest.raises(HttpError) as caught:
        http.get_json("api/projects/", "list projects")
    message = str(caught.value)
    assert "\n" not in message
    assert "line one line two" in message
    assert len(message) < 400


def test_a_server_that_cannot_be_reached_fails_after_every_attempt() -> None:
    server = Server(default=connect_error)
    http, sleeps = client(server)
    with pytest.raises(HttpError) as caught:
        http.get_json("api/projects/", "list projects")
    assert caught.value.status == 0
    assert f"cannot reach {URL} (list projects)" in str(caught.value)
    assert len(server.requests) == 4 and len(sleeps) == 3
    assert LEGACY not in str(caught.value)


# -- download: the body streamed into a file --------------------------------------------------------

class BreakingBody(httpx.SyncByteStream):
    """A body that sends ``parts`` and then breaks the connection (when ``breaks``)."""

    def __init__(self, *parts: bytes, breaks: bool = True):
        self.parts, self.breaks = parts, breaks

    def __iter__(self):
        yield from self.parts
        if self.breaks:
            raise httpx.ReadError("connection reset by peer")


def test_download_streams_the_body_into_the_sink_and_counts_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ls_http, "DOWNLOAD_CHUNK", 4)
    server = Server(httpx.Response(200, stream=BreakingBody(b"[1,", b"2,3]", breaks=False)))
    http, _ = client(server)
    sink = io.BytesIO(b"old content that must go")
    assert http.download("api/x/download", "export project p", sink, exportType="JSON") == 7
    assert sink.getvalue() == b"[1,2,3]"
    assert server.requests[0].url.params["exportType"] == "JSON"


def test_download_is_retried_after_a_502_and_after_a_body_cut_part_way() -> None:
    server = Server(fail(502), httpx.Response(200, stream=BreakingBody(b"[1,2")),
                    httpx.Response(200, stream=BreakingBody(b"[1,2,3]", breaks=False)))
    http, sleeps = client(server)
    sink = io.BytesIO()
    http.download("api/x/download", "export project p", sink)
    assert sink.getvalue() == b"[1,2,3]"  # the cut body was thrown away, not appended to
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_download_cut_on_every_attempt_is_one_line_naming_the_instance() -> None:
    server = Server(default=lambda request: httpx.Response(200, stream=BreakingBody(b"[1,")))
    http, _ = client(server)
    with pytest.raises(HttpError, match=r"^instance main: cannot reach http://ls.example \(export project p\): "
                                        "connection reset by peer$"):
        http.download("api/x/download", "export project p", io.BytesIO())
    assert len(server.requests) == 4


def test_download_error_answer_is_redacted_and_not_written() -> None:
    server = Server(fail(400, f"bad request for token {LEGACY}"))
    http, _ = client(server)
    sink = io.BytesIO()
    with pytest.raises(HttpError, match="failed with HTTP 400: bad request for token \\(sensitive\\)$"):
        http.download("api/x/download", "export project p", sink)
    assert sink.getvalue() == b""

def test_threads_sharing_a_client_exchange_the_personal_access_token_once() -> None:
    refresh = jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-threads-5")
    access = jwt(token_type="access", exp=int(time.time()) + 300, jti="access-threads-5")

    def exchange(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)  # a slow exchange: every thread asks for a header while it runs
        return ok({"access": access})

    def answer(request: httpx.Request) -> httpx.Response:
        return exchange(request) if request.url.path == "/api/token/refresh/" else ok({"id": 1})

    server = Server(default=answer)
    http, _ = client(server, token=refresh)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: http.get_json("api/projects/1", "read project"), range(8)))
    assert [r.url.path for r in server.requests].count("/api/token/refresh/") == 1
    assert http.stats.by_method == {"POST": 1, "GET": 8}


def test_the_transport_loads_neither_httpxs_command_line_tool_nor_what_it_imports() -> None:
    """httpx's CLI (rich, pygments, where installed) would cost start-up time before the first request."""
    code = ("import sys, lsts_sync.live.label_studio, httpx; "
            "print(sorted(m for m in ('rich', 'pygments') if m in sys.modules), sys.modules['httpx._main'], "
            "callable(httpx.main))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["[]", "None", "True"]
