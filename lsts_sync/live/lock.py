"""The apply lock: one S3 object per owner and instance, created only if absent, with a lease.

Two applies of the same specs started together (two CI pipelines) would each plan "create" and
make two projects. ``apply`` therefore takes this lock before it reads anything, and holds it
until it is done, as Terraform's S3 backend does:

- acquire: ``PutObject(IfNoneMatch="*")``; S3 answers 412 when the object exists, so exactly one
  writer wins. The body says who holds it, since when, and until when (the lease);
- wait: while another apply holds it, poll (with jitter) until ``timeout`` seconds have passed;
- stale: a lock whose lease has ended, or whose holder ran on this host and is no longer running
  (its apply was killed), is replaced with ``PutObject(IfMatch=etag)``, so of two waiters only one
  can replace it;
- release: ``DeleteObject(IfMatch=etag)``, so an apply never deletes a lock it no longer holds;
- break by hand: ``lsts-sync unlock SPECS --lock-id ID`` deletes the lock if it still has that id.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lsts_sync.core.errors import LstsError
from lsts_sync.resources.protocols import S3Ops
from lsts_sync.spec.loader import SpecSet

log = logging.getLogger(__name__)
LOCK_PREFIX = ".lsts-sync/locks/"
DEFAULT_LEASE = 3600.0


class LockHeld(LstsError):
    """Another apply holds the lock."""


@dataclass(frozen=True)
class Lock:
    """A held lock: where it is, its id (for ``unlock``) and the ETag that proves we hold it."""

    bucket: str
    key: str
    id: str
    etag: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def lock_key(instance_url: str, owner: str) -> str:
    """The lock object's key: one per Label Studio (by URL) and owner."""
    digest = hashlib.sha256(instance_url.rstrip("/").encode()).hexdigest()[:16]
    return f"{LOCK_PREFIX}{owner}-{digest}.json"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Lock:
    """Acquire and release lock objects with a boto3 S3 ``client``; ``clock``/``sleep`` are test seams."""

    def __init__(self, client: Any, bucket: str, key: str, *, lease: float = DEFAULT_LEASE,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.client, self.bucket, self.key, self.lease = client, bucket, key, lease
        self.clock, self.sleep = clock, sleep

    def _body(self, lock_id: str) -> bytes:
        now = self.clock()
        return json.dumps({"id": lock_id, "who": f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}",
                           "host": socket.gethostname(), "pidns": _pid_namespace(), "pid": os.getpid(),
                           "created": now, "expires": now + self.lease}).encode()

    def read(self) -> tuple[dict, str] | None:
        """The current lock's body and ETag, or None if there is none."""
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.key)
            body = json.loads(found["Body"].read())
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return None
            raise self._error("read", exc) from None
        except ValueError:
            body = {}
        return (body if isinstance(body, dict) else {}), found["ETag"]

    def acquire(self, timeout: float = 0.0) -> Lock:
        """Take the lock, waiting up to ``timeout`` seconds; raises LockHeld (one line) if it stays held."""
        start = self.clock()
        lock_id = uuid.uuid4().hex[:12]
        while True:
            etag = self._put(lock_id, IfNoneMatch="*")
            if etag:
                return self._confirmed(Lock(self.bucket, self.key, lock_id, etag))
            current = self.read()
            if current is None:
                continue  # released between our write and our read: try again at once
            if _stale(current[0], self.clock()):
                etag = self._put(lock_id, IfMatch=current[1])
                if etag:
                    return self._confirmed(Lock(self.bucket, self.key, lock_id, etag))
                current = self.read()  # another waiter replaced it first: it is the holder now
            waited = self.clock() - start
            if waited >= timeout:
                raise LockHeld(self._held_message(current, waited))
            self.sleep(min(timeout - waited, random.uniform(0.5, 1.5)))

    def _confirmed(self, lock: Lock) -> Lock:
        """Read the lock back: a server that ignores conditional writes lets two writers "win"."""
        current = self.read()
        if current is None or current[0].get("id") != lock.id:
            raise LstsError(f"apply lock {lock.url}: the S3 server does not honour conditional writes "
                            "(If-None-Match), so the lock cannot work there; set lock_bucket to a bucket on one "
                            "that does (AWS S3 does)")
        return lock

    def renew(self, lock: Lock) -> Lock:
        """Extend the lease if the lock is still ours (its ETag unchanged); else raise LstsError."""
        etag = self._put(lock.id, IfMatch=lock.etag)
        if etag is None:
            raise LstsError(f"lost the apply lock {lock.url}: another apply took it over (the lease ended); "
                            "stopping before any further change")
        return Lock(lock.bucket, lock.key, lock.id, etag)

    def _put(self, lock_id: str, **condition: str) -> str | None:
        """Write our lock body if ``condition`` holds; the new ETag, or None on 412/409."""
        try:
            answer = self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self._body(lock_id),
                                            ContentType="application/json", **condition)
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409", "NoSuchKey"):
                return None
            raise self._error("write", exc) from None
        except BotoCoreError as exc:
            raise LstsError(f"apply lock s3://{self.bucket}/{self.key}: cannot write it: {type(exc).__name__}") from None
        return answer["ETag"]

    def _held_message(self, current: tuple[dict, str] | None, waited: float) -> str:
        body = current[0] if current else {}
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(body.get("created", 0)))
        until = time.strftime("%H:%M:%S UTC", time.gmtime(body.get("expires", 0)))
        return (f"another apply holds the lock s3://{self.bucket}/{self.key} ({body.get('who', 'unknown')}, "
                f"since {since}, lease until {until}); waited {waited:.0f}s. Try again later, pass --lock-timeout "
                f"SECONDS to wait, or if that apply died: lsts-sync unlock SPECS --lock-id {body.get('id', '?')}")

    def release(self, lock: Lock) -> None:
        """Delete the lock if it is still ours (its ETag unchanged)."""
        try:
            self.client.delete_object(Bucket=lock.bucket, Key=lock.key, IfMatch=lock.etag)
        except ClientError as exc:
            if _code(exc) not in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                raise self._error("release", exc) from None

    def force_unlock(self, lock_id: str) -> bool:
        """Delete the lock if its id is ``lock_id``; False if there is none or it has another id."""
        current = self.read()
        if current is None or current[0].get("id") != lock_id:
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=current[1])
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404"):
                return False
            raise self._error("delete", exc) from None
        return True

    def _error(self, what: str, exc: ClientError) -> LstsError:
        return LstsError(f"apply lock s3://{self.bucket}/{self.key}: cannot {what} it: {_code(exc) or 'error'}")


def _stale(body: dict, now: float) -> bool:
    """The lease has ended, or the holder ran on this host, in this PID namespace (containers that
    share a host name do not), and its process is gone."""
    expires = body.get("expires")
    if isinstance(expires, (int, float)) and expires < now:
        return True
    pid = body.get("pid")
    local = body.get("host") == socket.gethostname() and body.get("pidns") == _pid_namespace()
    return local and isinstance(pid, int) and not _running(pid)


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def instance_locks(specs: SpecSet, s3: S3Ops | None = None) -> dict[str, S3Lock | None]:
    """The S3Lock of every instance for this spec set's owner (None where no bucket can hold it),
    on clients of ``s3`` (the run's ``S3Buckets``: one boto3 session, so the S3 model loads once)
    that do not count in ``--stats``."""
    from lsts_sync.core.stats import RequestStats
    from lsts_sync.live.s3 import S3Buckets

    buckets: S3Ops = s3 if s3 is not None else S3Buckets(specs.buckets, RequestStats())
    locks: dict[str, S3Lock | None] = {}
    for instance in sorted(specs.instances):
        bucket = specs.lock_bucket(instance)
        key = lock_key(specs.instances[instance].url, specs.owner)
        locks[instance] = S3Lock(buckets.client(bucket, counted=False), bucket, key) if bucket else None
    return locks


class HeldLocks:
    """The apply locks one apply holds (one per instance its projects use), renewed while it runs.

    ``keepalive(force=False)`` renews every lease (always with ``force``, else once a quarter of
    the shortest lease has passed) and raises LstsError if a lock was lost, so apply calls it
    before its first write and between steps. Each renewal keeps the renewed object's ETag: the
    release at the end is conditional on it.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.held: list[tuple[S3Lock, Lock]] = []
        self._clock = clock
        self._renewed = clock()

    def acquire(self, lock: S3Lock, timeout: float) -> Lock:
        token = lock.acquire(timeout)
        self.held.append((lock, token))
        log.debug("holding apply lock %s (id %s)", token.url, token.id)
        return token

    def keepalive(self, force: bool = False) -> None:
        lease = min((lock.lease for lock, _ in self.held), default=0.0)
        if force or self._clock() - self._renewed > lease / 4:
            self.held = [(lock, lock.renew(token)) for lock, token in self.held]
            self._renewed = self._clock()

    def release(self) -> None:
        """Release in the reverse order of acquiring."""
        for lock, token in reversed(self.held):
            lock.release(token)
        self.held = []


@contextlib.contextmanager
def holding(specs: SpecSet, locks: Mapping[str, S3Lock | None], timeout: float,
            warn: Callable[[str], None]) -> Iterator[HeldLocks]:
    """Hold the apply lock (of ``locks``, by instance) of every instance the specs' projects use, in
    name order, while the body runs; an instance without a bucket for its lock (None) is one
    ``warn`` line and goes unguarded. Released in reverse order however the body ends."""
    held = HeldLocks()
    try:
        for instance in sorted({p.instance for p in specs.projects.values()} or specs.instances):
            lock = locks[instance]
            if lock is None:
                warn(f"Warning: instance {instance}: no Bucket spec to hold the apply lock; "
                     "concurrent applies are not guarded (set lock_bucket)")
                continue
            held.acquire(lock, timeout)
        yield held
    finally:
        held.release()
