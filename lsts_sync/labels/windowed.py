"""Labels of window tasks stitched back onto the original objects.

A staged project's tasks are window files (``resources.windows``: the key names the original
object and the window). ``unwindow`` maps every region to its original key (``file``) and keeps the
window file's key in a column of its own (``window``); times are absolute already (the windows
carry the original times), so nothing is shifted.

Merging: an event on a boundary is seen in both neighbouring windows (their overlap), so it may be
drawn twice. Regions of one original file and one label, sorted by start, are joined into one
interval while the next one starts at or before the current interval's end (they overlap or touch)
and comes from another window than the region before it: two regions of one window stay apart
(someone drew two). A joined row keeps the first region's task and annotation ids, and names
every window and annotator it joins, separated by ``|``; ``updated_at`` is the latest.
"""

from __future__ import annotations

import pandas as pd

from lsts_sync.labels.annotations import Annotations
from lsts_sync.resources.windows import split_window_key, staging_folder
from lsts_sync.spec.models import ProjectSpec

WINDOW = "window"


def unwindow(annotations: Annotations, project: ProjectSpec, owner: str, times) -> Annotations:
    """The regions and files of a staged project's tasks, on the original objects (see above).
    ``times.one(value)`` gives a bound's milliseconds (``dense.Times``). Files outside the
    project's window folder are kept as they are, with an empty window."""
    source = project.source
    assert source is not None and source.staged
    folder = staging_folder(source.staging_prefix, owner, project.name)

    def original(key: object) -> str:
        parts = split_window_key(folder, str(key))
        return parts[0] if parts else str(key)

    regions = annotations.regions.copy()
    regions.insert(list(regions.columns).index("file") + 1, WINDOW,
                   [str(k) if split_window_key(folder, str(k)) else "" for k in regions["file"]])
    regions["file"] = regions["file"].map(original)
    files = {original(k): bucket for k, bucket in annotations.files.items()}
    return Annotations(merge_overlaps(regions, times), files)


def merge_overlaps(regions: pd.DataFrame, times) -> pd.DataFrame:
    """One row per joined interval (see the module docstring), sorted by file, start and label."""
    if regions.empty:
        return regions
    frame = regions.assign(_start=[times.one(v) for v in regions["start"]],
                           _end=[times.one(v) for v in regions["end"]])
    frame = frame.sort_values(["file", "label", "_start", "_end"], kind="stable")
    merged: list[dict] = []
    last_window = None
    for row in frame.to_dict("records"):
        top = merged[-1] if merged else None
        if (top is not None and (top["file"], top["label"]) == (row["file"], row["label"])
                and None not in (row["_start"], top["_end"]) and row["_start"] <= top["_end"]
                and row[WINDOW] != last_window):
            if row["_end"] is not None and row["_end"] > top["_end"]:
                top["end"], top["_end"] = row["end"], row["_end"]
            top[WINDOW] = _join(top[WINDOW], row[WINDOW])
            top["annotator"] = _join(top["annotator"], row["annotator"])
            top["updated_at"] = max(str(top["updated_at"]), str(row["updated_at"]))
            top["instant"] = bool(top["instant"]) and bool(row["instant"]) and top["start"] == top["end"]
        else:
            merged.append(row)
        last_window = row[WINDOW]
    out = pd.DataFrame(merged, columns=frame.columns)
    out = out.sort_values(["file", "_start", "label"], kind="stable").drop(columns=["_start", "_end"])
    return out.reset_index(drop=True)


def _join(have: object, more: object) -> str:
    parts = str(have).split("|") if have not in (None, "") else []
    return "|".join(parts + ([str(more)] if more not in (None, "") and str(more) not in parts else []))
