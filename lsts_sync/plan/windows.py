"""Window files: compare the windows a staged source should have with the files in its folder. Pure.

Per original object: a window whose key is absent is new; one whose ETag differs from the MD5 of
what would be written is rewritten; a file of the object's folder that is no window of it any
more is deleted; the manifest is written after them whenever anything changed. Appended data
therefore shows as new windows only (plus the last old window, which now holds more rows).

Work is never lost silently: rewriting or deleting the file of a task that carries an annotation
or a draft is the blocking check ``window-annotated`` (override ``--allow-window-rewrite PROJECT``),
and the windows of an object that vanished are deleted only with ``--prune``, and never when a
task of one carries work. ``at_risk`` is the one rule of which files could lose work: gather reads
the project's annotated files exactly when it is not empty.
"""

from __future__ import annotations

from collections.abc import Mapping

from lsts_sync.plan.changes import Check, ObjectWrite, WriteWindows
from lsts_sync.plan.options import Overrides
from lsts_sync.resources.windows import MANIFEST, WindowFacts, manifest_key, split_window_key, window_key


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
