"""The named safety checks of a plan: each reads the planned changes and the live facts, and
returns ``Check``s; a blocking one stops apply unless its named override was given. Pure.

``drops_labels`` is the one rule of where work could be orphaned and ``needs_usage`` (which adds
renames and time-format changes, whose work a rewrite carries along) of where gather reads label
usage; gather reads it exactly where it holds, and the label-removal and delete checks fail closed where usage is unknown.
"""

from __future__ import annotations

from lsts_sync.plan.changes import Change, Check, Create, Delete, RotateCredentials, Update
from lsts_sync.plan.options import Overrides
from lsts_sync.plan.rewrites import Renames, changes_time_format
from lsts_sync.resources.facts import DataSample, LiveFacts
from lsts_sync.resources.state import DesiredState, LiveState, ProjectState, StorageState, WebhookState
from lsts_sync.ui.template import CONTROL_NAME, controls, label_values, parses

# octoDNS-style guard: refuse to update/delete more than this share of managed resources without --force,
# once at least MIN_MANAGED resources are managed.
MAX_CHANGE_SHARE = 0.3
MIN_MANAGED = 10


def duplicates(live: LiveState) -> list[Check]:
    """Several own resources with one marker: apply would touch only the lowest id, so block."""
    return [Check("duplicate", address, f"{len(ids)} resources carry the marker of {address} (ids "
                  f"{', '.join(map(str, ids))}); lsts-sync uses id {ids[0]}: delete the others in Label Studio "
                  f"(move any annotations to id {ids[0]} first) and plan again")
            for address, ids in sorted(live.duplicates.items())]


def drops_labels(have: ProjectState, want: ProjectState | None) -> bool:
    """True if ``want``'s template lacks a label or control of ``have``'s (or ``want`` deletes it).

    The one rule of where work could be orphaned: gather reads label usage exactly where it is
    true, and the label-removal and delete checks block where it is true and usage is unknown."""
    if want is None or not parses(have.label_config):
        return True  # a deletion, or a live template we cannot read: count what is used (fail closed)
    old, new = label_values(have.label_config), label_values(want.label_config)
    lost_label = any(labels - new.get(control, set()) for control, labels in old.items())
    return lost_label or bool(controls(have.label_config) - controls(want.label_config))


def needs_usage(have: ProjectState, want: ProjectState | None) -> bool:
    """True where gather must read what the project's annotations, drafts and predictions use:
    where work could be orphaned (``drops_labels``), where the time format changes (regions must
    be rewritten), and where the spec renames labels, fields or choices (a rename is carried into
    the results until none uses a former name, even after the template no longer has it)."""
    if drops_labels(have, want):
        return True
    assert want is not None
    return bool(Renames.of(want)) or changes_time_format(have, want)


def label_removals(changes: list[Change], overrides: Overrides) -> list[Check]:
    """Template updates that drop a label, a field or a choice used by annotations or drafts
    (blocking), or by predictions (a warning: a model can predict again). What a rewrite renames
    (``Renames``: labels, fields, choices) counts as kept."""
    checks = []
    for change in changes:
        if not (isinstance(change, Update) and isinstance(change.old, ProjectState)
                and isinstance(change.new, ProjectState)) or not drops_labels(change.old, change.new):
            continue
        usage, new = change.old.usage, change.new
        if usage is None:  # not read, or not readable: fail closed
            checks.append(Check("label-removal", new.name, "the template change drops labels, fields or choices "
                                "and their use by annotations is unknown", f"--allow-label-removal {new.name}",
                                allowed=new.name in overrides.allow_label_removal))
            continue
        lost = _lost(change.old, new, usage.controls, usage.labels)
        if lost:
            checks.append(Check("label-removal", new.name,
                                f"the template change would orphan annotations or drafts: {'; '.join(lost)}",
                                f"--allow-label-removal {new.name}", allowed=new.name in overrides.allow_label_removal))
        predicted = _lost(change.old, new, (), usage.predicted, counted=False)
        if predicted:
            checks.append(Check("label-removal", new.name, "predictions use labels or choices the new template "
                                f"drops: {'; '.join(predicted)}", blocking=False))
    return checks


def _lost(old: ProjectState, new: ProjectState, used_controls: tuple[tuple[str, int], ...],
          used_values: tuple[tuple[tuple[str, str], int], ...], counted: bool = True) -> list[str]:
    """What ``new``'s template drops of what results use, once the rewrite's renames are made, in
    plain words, fields by the name they have after the renames: ``field severity: 3 result(s)``
    (a control ``new`` lacks; ``field severity changes type (choices → textarea)`` when ``new``
    has it with another type; ``control old (timeserieslabels)`` for a labels control), ``choice
    high of severity: 2 result(s)`` (a choice of a field) and ``Anomaly (label): 2 region(s)``
    (a label). A dropped field's choices are not listed again; without ``counted``, counts are
    bare numbers."""
    renames = Renames.of(new)
    kept_controls = controls(new.label_config)
    now = {key.split("|")[0]: key.rsplit("|", 1)[-1] for key in kept_controls}  # name -> type, in ``new``
    types = {**{key.split("|")[0]: key.rsplit("|", 1)[-1] for key in controls(old.label_config)}, **now}
    kept = {(control, v) for control, values in label_values(new.label_config).items() for v in values}
    dropped = []  # (control name, type, results) of the controls used and dropped
    for key, n in used_controls:
        name, _, rest = key.partition("|")  # key: name|toName|type
        if f"{renames.control(name)}|{rest}" not in kept_controls:
            dropped.append((name, rest.rpartition("|")[2], n))
    gone = {name for name, _, _ in dropped}
    found = []
    for (control, value), n in used_values:
        after = renames.control(control)
        if control in gone or (after, renames.value(after, value)) in kept:
            continue
        if control != CONTROL_NAME and types.get(after, types.get(control)) == "choices":
            found.append(f"choice {value} of {after}: {n}" + (" result(s)" if counted else ""))
        else:
            found.append(f"{value} ({control}): {n}" + (" region(s)" if counted else ""))
    for name, kind, n in dropped:
        after = renames.control(name)
        if kind.endswith("labels"):  # a labels control (a template written by hand may have several)
            found.append(f"control {name} ({kind}): {n} result(s)")
        elif after in now:
            found.append(f"field {after} changes type ({kind} → {now[after]}): {n} result(s)")
        else:
            found.append(f"field {after}: {n} result(s)")
    return found


def deletes(changes: list[Change], overrides: Overrides) -> list[Check]:
    """Deleting a project with annotations (or whose usage is unknown) needs --allow-delete NAME."""
    checks = []
    for change in changes:
        if not (isinstance(change, Delete) and isinstance(change.old, ProjectState)):
            continue
        old = change.old
        if old.usage is not None and not old.usage.annotations:
            continue
        what = f"{old.usage.annotations} annotation(s) or draft(s)" if old.usage else "annotations (usage unknown)"
        checks.append(Check("delete-annotated", old.name, f"project {old.title!r} has {what} that deleting it "
                            "would lose", f"--allow-delete {old.name}", allowed=old.name in overrides.allow_delete))
    return checks


def too_many_changes(changes: list[Change], live: LiveState, overrides: Overrides) -> list[Check]:
    """Updating or deleting more than ``MAX_CHANGE_SHARE`` of the managed projects, storages and
    webhooks needs --force. CORS rules and credential rotations do not count: they change no labeling
    setup. A resource counts once however many steps change it (a project's model version is a step
    of its own)."""
    managed = len(live.projects) + len(live.storages) + len(live.webhooks)
    touched = len({(c.resource.kind, c.resource.key) for c in changes
                   if c.action in ("update", "delete") and c.resource is not None and c.resource.kind != "cors"})
    if managed >= MIN_MANAGED and touched > MAX_CHANGE_SHARE * managed:
        return [Check("too-many-changes", "*", f"{touched} of {managed} managed resources would be updated or "
                      f"deleted (more than {MAX_CHANGE_SHARE:.0%})", "--force", allowed=overrides.force)]
    return []


def data_checks(samples: tuple[DataSample, ...]) -> list[Check]:
    """The gathered data samples as checks: an error blocks (``--skip-data-checks`` skips the reads)."""
    checks = []
    for sample in samples:
        if sample.empty:
            checks.append(Check("data", sample.project, sample.empty, "--skip-data-checks"))
        for finding in sample.findings:
            checks.append(Check("data", sample.project, f"{finding} ({sample.reason})", "--skip-data-checks")
                          if finding.error else Check("data", sample.project, str(finding), blocking=False))
        if sample.sampled < sample.total:
            checks.append(Check("data", sample.project, f"checked the first rows of {sample.sampled} of "
                                f"{sample.total} object(s); `lsts-sync check SPECS --project {sample.project}` "
                                "reads every row", blocking=False))
    return checks


def temporary_credentials(changes: list[Change], facts: LiveFacts) -> list[Check]:
    """Storages that get the environment's credentials, when those are temporary (a warning)."""
    sends = any(isinstance(c, RotateCredentials) or (isinstance(c, (Create, Update)) and isinstance(c.new, StorageState)
                and c.new.credentials == "environment") for c in changes)
    if not (sends and facts.temporary_credentials):
        return []
    return [Check("temporary-credentials", "*", "the AWS credentials handed to Label Studio are temporary (session "
                  "token): it stops reading the bucket when they expire; re-send fresh ones with "
                  "--rotate-credentials", blocking=False)]


def undeclared(desired: DesiredState, live: LiveState) -> list[Check]:
    """Managed storages and webhooks of declared projects that no spec declares any more (without --prune)."""
    gone: list[StorageState | WebhookState] = [
            *(s for key, s in live.storages.items() if key not in desired.storages),
            *(w for key, w in live.webhooks.items() if key not in desired.webhooks)]
    return [Check("undeclared", r.marker_name, f"{r.address} is managed but no longer declared; --prune deletes it",
                  blocking=False)
            for r in gone if (r.instance, r.project) in desired.projects]
