"""Window files: compare the windows a staged source should have with the files in its folder. Pure.

Per original object: a window whose key is absent is new; one whose ETag differs from the MD5 of
what would be written is rewritten; a file of the object's folder that is no window of it any
more is deleted; the manifest is written after them whenever anything changed. A window without a
file is not hashed (its MD5 is empty): apply records the ETag its PUT returns in the manifest. Appended data
therefore shows as new windows only (plus the last old window, which now holds more rows).

Work is never lost silently: rewriting or deleting the file of a task that carries an annotation
or a draft is the blocking check ``window-annotated`` (override ``--allow-window-rewrite PROJECT``),
and the windows of an object that vanished are deleted only with ``--prune``, and never when a
task of one carries work. ``at_risk`` is the one rule of which files could lose work: gather reads
the project's annotated files exactly when it is not empty.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lsts_sync.plan.changes import Check, ObjectWrite, WriteWindows
from lsts_sync.plan.options import Overrides
from lsts_sync.resources.state import PredictionSet, TaskPrediction, canonical_result
from lsts_sync.resources.windows import MANIFEST, WindowFacts, manifest_key, split_window_key, window_key
from lsts_sync.ui.timefmt import compile_format, format_ms, ui_value


def _existing_by_object(facts: WindowFacts) -> dict[str, dict[str, str]]:
    """The folder's window files and manifests, by original key: ``{key: {file key: etag}}``."""
    found: dict[str, dict[str, str]] = {}
    for key, etag in facts.existing:
        parts = split_window_key(facts.folder, key)
        source = parts[0] if parts else key[len(facts.folder):-len("/" + MANIFEST)]
        found.setdefault(source, {})[key] = etag
    return found


def _object_changes(facts: WindowFacts) -> tuple[list[ObjectWrite], set[str]]:
    """The writes of each present object, and the existing files they rewrite or delete."""
    existing = _existing_by_object(facts)
    writes, risky = [], set()
    for obj in facts.objects:
        have = existing.get(obj.key, {})
        wanted = {window_key(facts.folder, obj.key, w.name): w for w in obj.windows}
        write = tuple(w for k, w in wanted.items() if have.get(k) != w.md5)
        delete = tuple(sorted(k for k in have if k not in wanted and k != manifest_key(facts.folder, obj.key)))
        risky |= {k for k in wanted if k in have and have[k] != wanted[k].md5} | set(delete)
        if write or delete or not obj.current:
            writes.append(ObjectWrite(obj.key, obj.etag, obj.size, tuple(w.name for w in write),
                                      tuple(w.md5 for w in write), delete, obj.manifest(facts.fingerprint),
                                      sum(1 for k in wanted if k in have and have[k] != wanted[k].md5)))
    return writes, risky


def vanished(facts: WindowFacts) -> dict[str, tuple[str, ...]]:
    """Files of objects that are gone from the source, by their original key."""
    present = {obj.key for obj in facts.objects}
    return {source: tuple(sorted(files)) for source, files in sorted(_existing_by_object(facts).items())
            if source not in present}


def at_risk(facts: WindowFacts, prune: bool) -> set[str]:
    """Existing window files this plan could rewrite or delete (where work could be lost)."""
    risky = _object_changes(facts)[1]
    if prune:
        risky |= {k for files in vanished(facts).values() for k in files if not k.endswith("/" + MANIFEST)}
    return risky


def window_changes(facts: WindowFacts, annotated: frozenset[str] | None, prune: bool,
                   overrides: Overrides) -> tuple[list[WriteWindows], list[Check]]:
    """The WriteWindows step of one staged source (none when every window is current) and its
    checks. ``annotated``: keys of the project's tasks with work (None: not read, as nothing is at risk)."""
    writes, risky = _object_changes(facts)
    work = annotated or frozenset()
    checks: list[Check] = []
    lost = sorted(risky & work)
    if lost:
        checks.append(Check("window-annotated", facts.project, f"{len(lost)} window file(s) with annotations or "
                            f"drafts would be rewritten or deleted because their source object changed, e.g. "
                            f"s3://{facts.bucket}/{lost[0]}", f"--allow-window-rewrite {facts.project}",
                            allowed=facts.project in overrides.allow_window_rewrite))
    gone = vanished(facts)
    if gone and not prune:
        checks.append(Check("windows-vanished", facts.project, f"the windows of {len(gone)} object(s) no longer in "
                            f"the source are kept, e.g. {next(iter(gone))}; --prune deletes them", blocking=False))
    for source, files in gone.items() if prune else ():
        kept = [k for k in files if k in work]
        if kept:
            checks.append(Check("windows-vanished", facts.project, f"{len(kept)} window(s) of {source}, gone from "
                                "the source, carry annotations or drafts: kept (never pruned)", blocking=False))
        else:
            writes.append(ObjectWrite(source, "", 0, (), (), files, ""))
    if not facts.objects and not facts.existing:
        checks.append(Check("data", facts.project, "no object of the source matches its pattern: there is nothing "
                            "to write windows from (Label Studio refuses a storage on an empty prefix)"))
    step = WriteWindows(facts.instance, facts.project, facts.bucket, facts.folder, tuple(writes), facts.spec)
    return ([step] if writes else []), checks


def all_window_changes(windows: Mapping[tuple[str, str], WindowFacts],
                       annotated: Mapping[tuple[str, str], frozenset[str]], prune: bool,
                       overrides: Overrides) -> tuple[list[WriteWindows], list[Check]]:
    steps: list[WriteWindows] = []
    checks: list[Check] = []
    for key, facts in sorted(windows.items()):
        found, more = window_changes(facts, annotated.get(key), prune, overrides)
        steps += found
        checks += more
    return steps, checks


def predictions_on_windows(want: PredictionSet, facts: WindowFacts) -> PredictionSet:
    """A Predictions file names original objects; their tasks are windows. Each predicted region
    is placed on every window of its object whose rows it overlaps (from the window's first to
    its last row time), clipped to that span, so a labeler sees it whole in each window. An object
    without windows keeps its prediction as named (plan reports that no task matches it)."""
    objects = {obj.key: obj for obj in facts.objects}
    tasks: list[TaskPrediction] = []
    for task in want.tasks:
        obj = objects.get(task.key)
        if obj is None:
            tasks.append(task)
            continue
        regions = json.loads(task.result)
        for window in obj.windows:
            clipped = [r for r in (_clip(region, window.first, window.last, facts.time_format) for region in regions)
                       if r is not None]
            if clipped:
                tasks.append(TaskPrediction(window_key(facts.folder, obj.key, window.name), canonical_result(clipped),
                                            task.score, task.rows))
    return replace(want, tasks=tuple(sorted(tasks, key=lambda t: t.key)))


def _clip(region: dict[str, Any], first: float, last: float, fmt: str | None) -> dict[str, Any] | None:
    """The region within ``[first, last]`` (its bounds re-written in the time format), or None."""
    value = region.get("value") or {}
    start, end = _ms(value.get("start"), fmt), _ms(value.get("end"), fmt)
    if start is None or end is None or end < first or start > last:
        return None
    low, high = max(start, first), min(end, last)
    bound = (lambda ms: format_ms(ms, fmt)) if fmt else (lambda ms: int(ms) if float(ms).is_integer() else ms)
    new_start = value.get("start") if low == start else bound(low)
    new_end = value.get("end") if high == end else bound(high)
    return {**region, "value": {**value, "start": new_start, "end": new_end, "instant": new_start == new_end}}


def _ms(value: object, fmt: str | None) -> float | None:
    if fmt:
        return compile_format(fmt).parse(ui_value(str(value), fmt))
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
