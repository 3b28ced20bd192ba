"""Labeling windows: where their files live and what is known of them (values, no I/O).

Key layout. Every window file of a project lies in one folder owned by the project and its owner,
under the source's ``staging_prefix`` in the source's bucket, and names the original object and
the window::

    {staging_prefix}{owner}/{project}/{original key}/{window}.csv
    {staging_prefix}{owner}/{project}/{original key}/manifest.json

``{window}`` is the window's nominal start: ``20260101T060000Z`` (UTC) for duration windows,
``rows-000000020000`` (the 0-based index of its first row) for row windows. The original key is kept
whole (its slashes are folders), so a window key maps back to its object by cutting the project's
folder off the front and the window's name off the end (``split_window_key``); no table is needed.

Currency. A window file is written in one PUT, so its S3 ETag is the MD5 of its bytes: a file is
current when the listing's ETag equals the MD5 of what would be written. Only windows whose file
exists are hashed (a new window has nothing to be compared with); the manifest records, for each
window, the ETag its PUT returned (``fill_manifest``), the original object's ETag and size and a
fingerprint of everything a window's bytes depend on (``windows.fingerprint``); while these match
and every listed window is there with its recorded ETag, the object is not read at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MANIFEST = "manifest.json"
WINDOW_SUFFIX = ".csv"


def staging_folder(staging_prefix: str, owner: str, project: str) -> str:
    """The folder of a project's window files: ``{staging_prefix}{owner}/{project}/``."""
    return f"{staging_prefix.rstrip('/')}/{owner}/{project}/"


def window_key(folder: str, source_key: str, name: str) -> str:
    return f"{folder}{source_key}/{name}{WINDOW_SUFFIX}"


def manifest_key(folder: str, source_key: str) -> str:
    return f"{folder}{source_key}/{MANIFEST}"


def split_window_key(folder: str, key: str) -> tuple[str, str] | None:
    """``(original key, window name)`` of a window file's key under ``folder``, else None."""
    if not key.startswith(folder) or not key.endswith(WINDOW_SUFFIX):
        return None
    source, _, name = key[len(folder):-len(WINDOW_SUFFIX)].rpartition("/")
    return (source, name) if source and name else None


@dataclass(frozen=True)
class WindowFile:
    """One window of an object: its ``name``, the MD5 of its bytes (empty: not hashed, as no file
    of it exists yet), its rows, and the times (UTC ms, or the numbers of a numeric time axis) of
    its first and last row."""

    name: str
    md5: str
    rows: int
    first: float
    last: float


@dataclass(frozen=True)
class ObjectWindows:
    """An original object (``key``, ``etag``, ``size``) and the windows it gives (``windows``);
    ``current``: its manifest matched, so the windows were taken from it without reading the object."""

    key: str
    etag: str
    size: int
    windows: tuple[WindowFile, ...]
    current: bool = False

    def manifest(self, fingerprint: str) -> str:
        """The manifest's JSON text (sorted keys: equal windows, equal bytes)."""
        return json.dumps({"version": 1, "source": {"key": self.key, "etag": self.etag, "size": self.size},
                           "spec": fingerprint,
                           "windows": {w.name: {"md5": w.md5, "rows": w.rows, "first": w.first, "last": w.last}
                                       for w in self.windows}}, sort_keys=True)


@dataclass(frozen=True)
class WindowFacts:
    """One staged source: its project, bucket and folder, the fingerprint of its spec, every
    original object's windows (by key), and every file now in the folder: ``(key, etag)``."""

    instance: str
    project: str
    bucket: str
    folder: str
    fingerprint: str
    objects: tuple[ObjectWindows, ...] = ()
    existing: tuple[tuple[str, str], ...] = ()
    spec: str = ""  # the Project spec as JSON (apply cuts with exactly it)
    time_format: str | None = None  # the project's, to clip predicted regions to windows


def parse_manifest(text: str) -> tuple[str, str, int, tuple[WindowFile, ...]] | None:
    """``(object etag, spec fingerprint, object size, windows)`` of a manifest, None if unreadable
    (it is then rewritten)."""
    try:
        data = json.loads(text)
        windows = tuple(WindowFile(name, str(w["md5"]), int(w["rows"]), float(w["first"]), float(w["last"]))
                        for name, w in sorted(data["windows"].items()))
        return str(data["source"]["etag"]), str(data["spec"]), int(data["source"]["size"]), windows
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def fill_manifest(text: str, etags: dict[str, str]) -> str:
    """A manifest's text with the ETag each written window's PUT returned (``etags``, by window
    name) as its ``md5``: the plan leaves it empty where it did not hash the window, and S3's
    answer is what the next listing will show."""
    data = json.loads(text)
    for name, etag in etags.items():
        data["windows"][name]["md5"] = etag
    return json.dumps(data, sort_keys=True)
