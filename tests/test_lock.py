"""The apply lock on S3, offline: an in-memory S3 that honours conditional writes, a fake clock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from typing import Any

import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.live.lock import Lock, LockHeld, S3Lock, lock_key

from .fakes import FakeS3Client, client_error

BUCKET = "locks"
KEY = lock_key("http://ls.example/", "team-a")


class Clock:
    """A fake time that only ``sleep`` moves."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def make_lock(s3: FakeS3Client, clock: Clock, lease: float = 3600.0) -> S3Lock:
    return S3Lock(s3, BUCKET, KEY, lease=lease, clock=clock, sleep=clock.sleep)


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def s3() -> FakeS3Client:
    return FakeS3Client(BUCKET, KEY)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_key_is_per_owner_and_instance_and_ignores_a_trailing_slash() -> None:
    assert lock_key("http://ls.example", "team-a") == KEY
    assert KEY.startswith(".lsts-sync/locks/team-a-") and KEY.endswith(".json")
    assert lock_key("http://ls.example", "team-b") != KEY
    assert lock_key("http://other.example", "team-a") != KEY


def test_acquire_when_free(s3: FakeS3Client, clock: Clock) -> None:
    lock = make_lock(s3, clock, lease=600).acquire()
    assert lock == Lock(BUCKET, KEY, lock.id, s3.etag())
    assert lock.url == f"s3://{BUCKET}/{KEY}"
    body = s3.body()
    assert body["id"] == lock.id
    assert (body["host"], body["created"], body["expires"]) == (socket.gethostname(), clock.now, clock.now + 600)
    assert clock.sleeps == []


def test_a_second_acquire_without_waiting_names_the_holder(s3: FakeS3Client, clock: Clock) -> None:
    first = make_lock(s3, clock).acquire()
    with pytest.raises(LockHeld) as caught:
        make_lock(s3, clock).acquire(timeout=0)
    message = str(caught.value)
    assert f"another apply holds the lock s3://{BUCKET}/{KEY}" in message
    assert "waited 0s" in message
    assert f"--lock-id {first.id}" in message
    assert "\n" not in message
    assert clock.sleeps == []
    assert s3.body()["id"] == first.id


def test_a_second_acquire_waits_until_the_timeout_then_gives_up(s3: FakeS3Client, clock: Clock) -> None:
    first = make_lock(s3, clock).acquire()
    start = clock.now
    with pytest.raises(LockHeld, match="waited 5s"):
        make_lock(s3, clock).acquire(timeout=5)
    assert clock.now - start == pytest.approx(5.0)
    assert len(clock.sleeps) >= 4  # polls with jitter of 0.5 to 1.5 s
    assert all(s <= 1.5 for s in clock.sleeps)
    assert s3.body()["id"] == first.id


def test_a_waiter_gets_the_lock_once_it_is_released(s3: FakeS3Client, clock: Clock) -> None:
    holder = make_lock(s3, clock)
    first = holder.acquire()
    waiter = make_lock(s3, clock)
    sleep = clock.sleep

    def sleep_then_release(seconds: float) -> None:
        sleep(seconds)
        if len(clock.sleeps) == 2:
            holder.release(first)

    waiter.sleep = sleep_then_release
    second = waiter.acquire(timeout=30)
    assert second.id != first.id and s3.body()["id"] == second.id
    assert len(clock.sleeps) == 2


def test_an_expired_lease_is_replaced(s3: FakeS3Client, clock: Clock) -> None:
    old = s3.plant(id="old-holder", who="ci@elsewhere pid 1", host="elsewhere", pid=1,
                   created=clock.now - 7200, expires=clock.now - 1)
    lock = make_lock(s3, clock).acquire(timeout=0)
    assert lock.id != "old-holder" and lock.etag != old
    assert s3.body()["id"] == lock.id
    assert clock.sleeps == []


def test_a_lease_still_running_elsewhere_is_not_replaced(s3: FakeS3Client, clock: Clock) -> None:
    s3.plant(id="other-holder", who="ci@elsewhere pid 1", host="elsewhere", pid=1,
             created=clock.now - 60, expires=clock.now + 60)
    with pytest.raises(LockHeld, match="--lock-id other-holder"):
        make_lock(s3, clock).acquire(timeout=0)
    assert s3.body()["id"] == "other-holder"


def test_a_lock_of_a_dead_process_on_this_host_is_stale_and_replaced(s3: FakeS3Client, clock: Clock) -> None:
    s3.plant(id="killed-apply", who="me@here", host=socket.gethostname(), pidns=os.readlink("/proc/self/ns/pid"),
             pid=dead_pid(), created=clock.now - 60, expires=clock.now + 3540)
    lock = make_lock(s3, clock).acquire(timeout=0)
    assert lock.id != "killed-apply"
    assert s3.body()["id"] == lock.id


def test_a_dead_pid_in_another_pid_namespace_is_not_stale(s3: FakeS3Client, clock: Clock) -> None:
    """Containers on one machine can share a host name; their PIDs are not ours to test."""
    s3.plant(id="other-container", who="me@here", host=socket.gethostname(), pidns="pid:[1]",
             pid=dead_pid(), created=clock.now - 60, expires=clock.now + 3540)
    with pytest.raises(LockHeld, match="other-container"):
        make_lock(s3, clock).acquire(timeout=0)


def test_renew_extends_our_lease_and_fails_once_the_lock_was_taken(s3: FakeS3Client, clock: Clock) -> None:
    lock_ = make_lock(s3, clock)
    held = lock_.acquire()
    clock.now += 100
    renewed = lock_.renew(held)
    assert s3.body()["id"] == held.id and s3.body()["expires"] == clock.now + 3600 and renewed.etag != held.etag
    s3.plant(id="usurper", host="elsewhere", pid=1, created=clock.now, expires=clock.now + 3600)
    with pytest.raises(LstsError, match="lost the apply lock"):
        lock_.renew(renewed)


def test_a_server_that_ignores_conditional_writes_is_refused(s3: FakeS3Client, clock: Clock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    put = s3.put_object

    def ignoring(**kwargs: Any) -> dict:
        kwargs.pop("IfNoneMatch", None)
        answer = put(**kwargs)
        put(Bucket=BUCKET, Key=KEY, Body=json.dumps({"id": "racer"}).encode())  # another writer also "won"
        return answer

    monkeypatch.setattr(s3, "put_object", ignoring)
    with pytest.raises(LstsError, match="does not honour conditional writes"):
        make_lock(s3, clock).acquire()


def test_a_lock_of_a_running_process_on_this_host_is_held(s3: FakeS3Client, clock: Clock) -> None:
    process = subprocess.Popen(["sleep", "30"])
    try:
        s3.plant(id="running-apply", who="me@here", host=socket.gethostname(), pid=process.pid,
                 created=clock.now - 60, expires=clock.now + 3540)
        with pytest.raises(LockHeld):
            make_lock(s3, clock).acquire(timeout=0)
    finally:
        process.kill()
        process.wait()
    assert s3.body()["id"] == "running-apply"


def test_a_stale_lock_replaced_by_another_waiter_meanwhile_is_not_overwritten(s3: FakeS3Client, clock: Clock,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    s3.plant(id="old-holder", host="elsewhere", pid=1, created=0, expires=clock.now - 1)
    get_object = s3.get_object

    def read_then_lose_the_race(**kwargs: Any) -> dict:
        found = get_object(**kwargs)
        if json.loads(s3.objects[(BUCKET, KEY)][0])["id"] == "old-holder":  # another waiter replaces it now
            s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(
                {"id": "other-waiter", "host": "elsewhere", "pid": 1, "created": clock.now,
                 "expires": clock.now + 3600}).encode(), IfMatch=s3.etag())
        return found

    monkeypatch.setattr(s3, "get_object", read_then_lose_the_race)
    with pytest.raises(LockHeld, match="--lock-id other-waiter"):
        make_lock(s3, clock).acquire(timeout=0)
    assert s3.body()["id"] == "other-waiter"


def test_only_one_of_two_waiters_replaces_a_stale_lock(s3: FakeS3Client, clock: Clock) -> None:
    stale = s3.plant(id="old-holder", host="elsewhere", pid=1, created=0, expires=clock.now - 1)
    winner = make_lock(s3, clock)
    assert winner._put("winner", IfMatch=stale)
    assert make_lock(s3, clock)._put("loser", IfMatch=stale) is None
    assert s3.body()["id"] == "winner"


def test_release_deletes_our_lock(s3: FakeS3Client, clock: Clock) -> None:
    lock_ = make_lock(s3, clock)
    lock = lock_.acquire()
    lock_.release(lock)
    assert s3.objects == {}


def test_release_leaves_a_lock_someone_else_took_over(s3: FakeS3Client, clock: Clock) -> None:
    mine = make_lock(s3, clock)
    lock = mine.acquire()
    theirs = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{"id": "theirs"}', IfMatch=lock.etag)["ETag"]
    mine.release(lock)
    assert s3.etag() == theirs and s3.body() == {"id": "theirs"}


def test_release_of_a_lock_already_gone_is_quiet(s3: FakeS3Client, clock: Clock) -> None:
    mine = make_lock(s3, clock)
    lock = mine.acquire()
    s3.objects.clear()
    mine.release(lock)


def test_release_reports_other_s3_errors(s3: FakeS3Client, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = make_lock(s3, clock)
    lock = mine.acquire()

    def denied(**kwargs: Any) -> dict:
        raise client_error("AccessDenied", "DeleteObject")

    monkeypatch.setattr(s3, "delete_object", denied)
    with pytest.raises(LstsError, match=f"apply lock s3://{BUCKET}/{KEY}: cannot release it: AccessDenied"):
        mine.release(lock)


def test_force_unlock_with_a_wrong_id_keeps_the_lock(s3: FakeS3Client, clock: Clock) -> None:
    lock = make_lock(s3, clock).acquire()
    assert make_lock(s3, clock).force_unlock("not-" + lock.id) is False
    assert s3.body()["id"] == lock.id


def test_force_unlock_with_the_right_id_deletes_it(s3: FakeS3Client, clock: Clock) -> None:
    lock = make_lock(s3, clock).acquire()
    assert make_lock(s3, clock).force_unlock(lock.id) is True
    assert s3.objects == {}


def test_force_unlock_without_a_lock_returns_false(s3: FakeS3Client, clock: Clock) -> None:
    assert make_lock(s3, clock).force_unlock("anything") is False


def test_read_of_an_unreadable_body_gives_an_empty_body(s3: FakeS3Client, clock: Clock) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"not json")
    assert make_lock(s3, clock).read() == ({}, s3.etag())


def test_a_write_error_other_than_a_precondition_is_reported(s3: FakeS3Client, clock: Clock,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(**kwargs: Any) -> dict:
        raise client_error("AccessDenied", "PutObject")

    monkeypatch.setattr(s3, "put_object", denied)
    with pytest.raises(LstsError, match="cannot write it: AccessDenied"):
        make_lock(s3, clock).acquire()


def test_a_renewed_lock_carries_the_new_etag_so_it_renews_again_and_releases(s3: FakeS3Client, clock: Clock) -> None:
    """Renewal rewrites the object: the Lock it returns must prove ownership with the new ETag, or the
    next renewal reports a lost lock and release leaves the lock behind until its lease ends."""
    lock_ = make_lock(s3, clock)
    held = lock_.acquire()
    clock.now += 100
    once = lock_.renew(held)
    assert once.etag == s3.etag()
    clock.now += 100
    twice = lock_.renew(once)
    assert twice.etag == s3.etag() and s3.body()["expires"] == clock.now + 3600
    lock_.release(twice)
    assert s3.objects == {}


def test_a_holder_of_another_user_on_this_host_is_alive(s3: FakeS3Client, clock: Clock,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Signalling another user's process fails with EPERM: the process exists, so its lock is held."""
    from lsts_sync.live import lock as lock_module

    probed: list[tuple[int, int]] = []

    def not_permitted(pid: int, signal: int) -> None:
        probed.append((pid, signal))
        raise PermissionError(1, "Operation not permitted")

    s3.plant(id="other-user", who="them@here", host=socket.gethostname(), pidns=lock_module._pid_namespace(),
             pid=4242, created=clock.now - 60, expires=clock.now + 3540)
    monkeypatch.setattr(lock_module.os, "kill", not_permitted)
    with pytest.raises(LockHeld, match="--lock-id other-user"):
        make_lock(s3, clock).acquire(timeout=0)
    assert probed == [(4242, 0)]
    assert s3.body()["id"] == "other-user"
