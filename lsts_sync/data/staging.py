"""What a staged source holds and should hold: its original objects, their windows, and the files
now in the project's window folder (read at gather time, into ``WindowFacts``).

An object whose manifest matches (its ETag and size, the spec's fingerprint) and whose listed
windows are all in the folder is not read: its windows come from the manifest. Every other object
is cut in memory-bounded passes (``windows.cut``) to learn its windows, and the MD5s of those whose
file is already in the folder (the others have no ETag to compare with), and nothing is written:
apply cuts it again and writes what the plan says. Objects are read ``map_fn`` at a
time (``Connections.map``); results are used in key order.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lsts_sync.desired.build import regex_filter
from lsts_sync.resources.protocols import S3Ops
from lsts_sync.resources.windows import (
    MANIFEST,
    ObjectWindows,
    WindowFacts,
    manifest_key,
    parse_manifest,
    split_window_key,
    staging_folder,
    window_key,
)
from lsts_sync.spec.models import ProjectSpec

if TYPE_CHECKING:  # imported where used: Arrow and numpy load only when a source is staged
    from lsts_sync.data.windows import ObjectReader


def reader(s3: S3Ops, bucket: str, key: str, etag: str, size: int) -> ObjectReader:
    """How ``windows.cut`` reads one version of one object."""
    from lsts_sync.data.windows import ObjectReader

    return ObjectReader(lambda: s3.open_object(bucket, key, etag),
                        lambda start, length: s3.read_range(bucket, key, start, length, etag), size)


def source_objects(project: ProjectSpec, s3: S3Ops) -> list[tuple[str, str, int]]:
    """``(key, etag, size)`` of the original objects: matching keys, the staging prefix left out."""
    source = project.source
    assert source is not None
    pattern = re.compile(regex_filter(source))
    listed = source.prefix.rstrip("/") + "/" if source.prefix else ""
    staging = source.staging_prefix.rstrip("/") + "/"
    return sorted((k, e, n) for k, e, n in s3.object_etags(source.bucket, listed)
                  if pattern.match(k) and not k.endswith("/") and not k.startswith(staging)
                  and (source.recursive or "/" not in k[len(listed):]))


def window_facts(project: ProjectSpec, owner: str, s3: S3Ops, map_fn: Callable[..., list[Any]]) -> WindowFacts:
    """The windows of one staged project's source (see the module docstring)."""
    from lsts_sync.data.windows import fingerprint, windows_of

    source = project.source
    assert source is not None and source.staged
    folder = staging_folder(source.staging_prefix, owner, project.name)
    existing = {k: e for k, e, _ in s3.object_etags(source.bucket, folder)}
    print_ = fingerprint(project)

    def one(item: tuple[str, str, int]) -> ObjectWindows:
        key, etag, size = item
        if manifest_key(folder, key) in existing:
            found = parse_manifest(s3.read_bytes(source.bucket, manifest_key(folder, key)).decode("utf-8", "replace"))
            if found is not None and found[:3] == (etag, print_, size) and all(
                    existing.get(window_key(folder, key, w.name)) == w.md5 for w in found[3]):
                return ObjectWindows(key, etag, size, found[3], current=True)
        where = f"s3://{source.bucket}/{key}"
        return ObjectWindows(key, etag, size, windows_of(project, reader(s3, source.bucket, key, etag, size), key, where,
                                                         hashed=lambda name: window_key(folder, key, name) in existing))

    objects = tuple(map_fn(one, source_objects(project, s3)))
    kept = tuple(sorted((k, e) for k, e in existing.items()
                        if split_window_key(folder, k) is not None or k.endswith("/" + MANIFEST)))
    return WindowFacts(project.instance, project.name, source.bucket, folder, print_, objects, kept,
                       project.model_dump_json(), project.timeseries.time_format)
