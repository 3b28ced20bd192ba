"""Live S3: bucket CORS and credentials, through boto3 at each Bucket spec's endpoint and region.

Only ``NoSuchCORSConfiguration`` means "no CORS rules"; every other S3 error is reported as one line
naming the bucket, never swallowed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from lsts_sync.core.errors import LstsError
from lsts_sync.core.secrets import register
from lsts_sync.core.stats import RequestStats
from lsts_sync.resources.cors import canonical_rule
from lsts_sync.resources.protocols import Credentials
from lsts_sync.resources.state import CorsState
from lsts_sync.spec.models import BucketSpec

# Retries are set explicitly, not left to the environment: botocore's "standard" mode retries
# throttling and 5xx with jittered backoff, up to 4 attempts in all.
log = logging.getLogger(__name__)
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=10, read_timeout=60)


class S3Buckets:
    """S3 clients for the buckets the specs declare (one client per endpoint/region).

    One boto3 session per run: creating a client loads botocore's S3 model (about a tenth of a
    second), and the session caches it, so every client after the first, the apply lock's too, is
    cheap. Clients are made lazily (a command that reaches no bucket never pays) under a lock, since
    reads may run in threads; boto3 clients themselves are thread-safe, its sessions are not.
    """

    def __init__(self, buckets: dict[str, BucketSpec], stats: RequestStats):
        self.buckets = buckets
        self.stats = stats
        self._session = boto3.session.Session()
        self._clients: dict[tuple[str | None, str, bool], object] = {}
        self._lock = threading.Lock()
        self._listings: dict[tuple[str, str, bool], list[tuple[str, float, int]]] = {}
        self._heads: dict[tuple[str, str, int], bytes] = {}

    def client(self, bucket: str, counted: bool = True):
        """The client for ``bucket``'s endpoint and region. ``counted=False``: its requests are not
        in ``stats`` (the apply lock's, which are bookkeeping, not reads or writes of the plan)."""
        spec = self.buckets[bucket]
        key = (spec.endpoint_url, spec.region, counted)
        with self._lock:
            if key not in self._clients:
                client = self._session.client("s3", endpoint_url=spec.endpoint_url, region_name=spec.region,
                                              config=CLIENT_CONFIG)
                if counted:
                    client.meta.events.register("before-send.s3", self._count)
                self._clients[key] = client
            return self._clients[key]

    def _count(self, request, **_) -> None:
        """Count an S3 request; ``--debug`` logs its method and URL (no credentials are in it:
        requests are signed in headers)."""
        self.stats.record(request.method)
        log.debug("S3 %s %s", request.method, request.url)

    def _error(self, bucket: str, what: str, exc: Exception) -> LstsError:
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "Error")
            if code in ("NoSuchBucket", "404"):
                return LstsError(f"bucket {bucket}: does not exist at {self._where(bucket)}")
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return LstsError(f"bucket {bucket}: access denied ({code}) while trying to {what}")
            return LstsError(f"bucket {bucket}: {what} failed: {code}")
        if isinstance(exc, NoCredentialsError):
            return LstsError(f"bucket {bucket}: no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_PROFILE)")
        return LstsError(f"bucket {bucket}: cannot reach {self._where(bucket)} ({what}): {exc.__class__.__name__}")

    def _where(self, bucket: str) -> str:
        return self.buckets[bucket].endpoint_url or f"AWS S3 ({self.buckets[bucket].region})"

    def missing(self, bucket: str) -> str | None:
        """Why ``bucket`` cannot be used (it does not exist), or None; other errors raise."""
        try:
            self.client(bucket).head_bucket(Bucket=bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
                return f"does not exist at {self._where(bucket)}"
            raise self._error(bucket, "read the bucket", exc) from None
        except BotoCoreError as exc:
            raise self._error(bucket, "read the bucket", exc) from None
        return None

    def read_cors(self, bucket: str, rule_id: str) -> CorsState:
        """The rule with ``rule_id`` (the owner's) and all other rules exactly as read."""
        try:
            rules = self.client(bucket).get_bucket_cors(Bucket=bucket).get("CORSRules", [])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchCORSConfiguration":
                return CorsState(bucket, None, rule_id=rule_id)
            raise self._error(bucket, "read CORS", exc) from None
        except BotoCoreError as exc:
            raise self._error(bucket, "read CORS", exc) from None
        ours = [r for r in rules if r.get("ID") == rule_id]
        others = tuple(json.dumps(r, sort_keys=True) for r in rules if r.get("ID") != rule_id)
        rule = json.dumps(canonical_rule(ours[0]), sort_keys=True) if ours else None
        return CorsState(bucket, rule, others, rule_id)

    def write_cors(self, state: CorsState) -> None:
        """Write the full configuration (S3 replaces it whole); delete it when nothing is left."""
        rules = state.configuration()
        try:
            if rules:
                self.client(state.bucket).put_bucket_cors(Bucket=state.bucket, CORSConfiguration={"CORSRules": rules})
            else:
                self.client(state.bucket).delete_bucket_cors(Bucket=state.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(state.bucket, "write CORS", exc) from None

    def credentials(self) -> Credentials:
        """The credentials of boto3's default chain (for ``credentials: environment``)."""
        found = self._session.get_credentials()
        if found is None:
            raise LstsError("credentials: environment, but boto3 found no AWS credentials")
        frozen = found.get_frozen_credentials()
        register(frozen.secret_key, frozen.token)
        if frozen.access_key is None or frozen.secret_key is None:
            raise LstsError("credentials: environment, but boto3's credentials lack an access key or secret key")
        return frozen.access_key, frozen.secret_key, frozen.token

    def put_object(self, url: str, data: bytes) -> str:
        """Write ``s3://bucket/key`` in a single PUT (atomic: readers see the old or the new object);
        the ETag S3 answered (the MD5 of ``data`` where a server answers none)."""
        bucket, key = url[5:].split("/", 1)
        kind = "application/vnd.apache.parquet" if key.lower().endswith(".parquet") else "text/csv"
        try:
            answer = self.client(bucket).put_object(Bucket=bucket, Key=key, Body=data, ContentType=kind)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(bucket, f"write {url}", exc) from None
        return str(answer.get("ETag") or "").strip('"') or hashlib.md5(data).hexdigest()

    def objects(self, bucket: str, prefix: str, recursive: bool) -> list[tuple[str, float, int]]:
        """``(key, last modified as Unix time, size)`` of every object under ``prefix`` (direct
        children only unless ``recursive``), page by page; listed once per run."""
        if (bucket, prefix, recursive) in self._listings:
            return self._listings[(bucket, prefix, recursive)]
        args = {"Bucket": bucket, "Prefix": prefix}
        if not recursive:
            args["Delimiter"] = "/"
        try:
            pages = self.client(bucket).get_paginator("list_objects_v2").paginate(**args)
            found = [(o["Key"], o["LastModified"].timestamp(), int(o.get("Size", 0)))
                     for page in pages for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(bucket, f"list s3://{bucket}/{prefix}", exc) from None
        self._listings[(bucket, prefix, recursive)] = found
        return found

    def head_bytes(self, bucket: str, key: str, size: int = 65536) -> bytes:
        """The first ``size`` bytes of an object (one ranged GET), read once per run: channel
        resolution and the data checks both read the first object of a source."""
        if (bucket, key, size) in self._heads:
            return self._heads[(bucket, key, size)]
        try:
            body = self.client(bucket).get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{size - 1}")["Body"]
            data = body.read()
        except (ClientError, BotoCoreError) as exc:
            raise self._error(bucket, f"read s3://{bucket}/{key}", exc) from None
        self._heads[(bucket, key, size)] = data
        return data

    def object_etags(self, bucket: str, prefix: str) -> list[tuple[str, str, int]]:
        """``(key, ETag without quotes, size)`` of every object under ``prefix`` (sub-folders too)."""
        try:
            pages = self.client(bucket).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return [(o["Key"], str(o.get("ETag", "")).strip('"'), int(o.get("Size", 0)))
                    for page in pages for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise self._error(bucket, f"list s3://{bucket}/{prefix}", exc) from None

    def open_object(self, bucket: str, key: str, etag: str) -> BinaryIO:
        """The object's body as a stream, if it is still the version ``etag`` (``IfMatch``)."""
        try:
            return self.client(bucket).get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"')["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise self._changed(bucket, key, exc) from None

    def read_range(self, bucket: str, key: str, start: int, length: int, etag: str) -> bytes:
        """``length`` bytes from ``start`` of the version ``etag`` of the object."""
        try:
            return self.client(bucket).get_object(Bucket=bucket, Key=key, IfMatch=f'"{etag}"',
                                                  Range=f"bytes={start}-{start + length - 1}")["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise self._changed(bucket, key, exc) from None

    def _changed(self, bucket: str, key: str, exc: Exception) -> LstsError:
        if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
            return LstsError(f"s3://{bucket}/{key} changed since it was planned; run plan again")
        return self._error(bucket, f"read s3://{bucket}/{key}", exc)

    def delete_keys(self, bucket: str, keys: list[str]) -> None:
        """Delete ``keys`` (up to 1000 a request); a key that failed is an error naming it."""
        for at in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[at:at + 1000]]
            try:
                answer = self.client(bucket).delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            except (ClientError, BotoCoreError) as exc:
                raise self._error(bucket, f"delete {len(batch)} object(s)", exc) from None
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise LstsError(f"bucket {bucket}: cannot delete {first.get('Key')}: {first.get('Code')}")

    def read_bytes(self, bucket: str, key: str) -> bytes:
        """A whole object (one GET)."""
        try:
            return self.client(bucket).get_object(Bucket=bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise self._error(bucket, f"read s3://{bucket}/{key}", exc) from None
