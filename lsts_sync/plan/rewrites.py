"""Rewrites: the labeled work a template change carries along, decided from the live records. Pure.

Label Studio cannot rename a label inside existing results, and a changed ``timeFormat`` leaves
every region's ``start``/``end`` in the old text, which the labeling page can no longer place. A
reconciler that owns the template is the one place that can do both safely:

- **relabel**: a label's ``renamed_from`` names are replaced by its value in every region of the
  project's annotations, drafts and predictions (control ``label``; a region carrying both names
  keeps one);
- **rename field** and **rename choice**: a result whose ``from_name`` is a field's former name is
  given the field's name, then a choices result of a field has its former values replaced by their
  value (``Renames``: the same rule tells the label-removal check what a rewrite keeps);
- **retime**: every region's ``start``/``end`` is written in the new time format at the same
  instant (``ui.timefmt``: read with the old format as the labeling UI reads it, written as d3
  writes it). Numbers (no ``time_format``) are read as the cell text they are: a number becomes the
  instant the new format reads from it, and a time becomes a number only when its text is one.

What apply must do, and why in this order (Label Studio 1.23.2, ``tasks/models.py``, ``tasks/api.py``):

- the results first, the template last: a re-run after a failure part-way then still sees the old
  template, so its plan shows the remaining work and the template change (a PATCH of the template
  alone is accepted even while results still use a dropped label: it would orphan them);
- saving an annotation sets its ``updated_at`` (and ``updated_by``) and **deletes every draft that
  edits it** (the ``delete_draft`` signal). So within a task the non-cancelled annotations are saved
  oldest first from the first one that changes, the later ones again unchanged, and the one that
  was the latest stays the latest (what ``annotations: latest`` exports); drafts that edit a saved
  annotation are lost, which is the blocking check ``draft-loss``.
- a rewritten text that the old format reads as another instant could not be told apart from an
  old one by a re-run after a failure part-way: such a change is blocked (``time-format-change``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lsts_sync.plan.changes import Check, RecordWrite, RewriteResults
from lsts_sync.plan.options import Overrides
from lsts_sync.resources.state import DesiredState, LiveState, ProjectState, ResultRecord, iso_moment
from lsts_sync.ui.template import CONTROL_NAME, series_attributes
from lsts_sync.ui.timefmt import compile_format, format_ms, js_number, ui_value

_compiled = functools.lru_cache(maxsize=16)(compile_format)  # one compile per format, not per region bound


def time_format(xml: str) -> tuple[bool, str | None]:
    """``(has a TimeSeries, its timeFormat)`` of a template (None: numbers)."""
    found = series_attributes(xml)
    return (bool(found), found[1] if found else None)


def changes_time_format(have: ProjectState, want: ProjectState) -> bool:
    """True when both templates have a TimeSeries and its time format differs."""
    (old_series, old), (new_series, new) = time_format(have.label_config), time_format(want.label_config)
    return old_series and new_series and old != new


@dataclass(frozen=True)
class Retime:
    """Re-write region bounds from format ``old`` to ``new`` (None: numbers) at the same instant."""

    old: str | None
    new: str | None

    def _read(self, specifier: str | None, value: object) -> float | None:
        text = _text(value)
        if specifier is None:
            return js_number(text)
        return _compiled(specifier).parse(ui_value(text, specifier))

    def instant(self, value: object) -> float | None:
        """The instant of a value written in the old format (numbers: as the new format reads them)."""
        if self.old is None:
            return self._read(self.new, value) if js_number(_text(value)) is not None else None
        return self._read(self.old, value)

    def convert(self, value: object) -> tuple[object, str]:
        """``(new value, status)``; status ``same`` (nothing to write), ``exact``, ``inexact`` (the new
        format cannot hold the instant: written at the instant it can), ``ambiguous`` (the old
        format reads the new text as another instant), ``already`` (reads in the new format only)
        or ``unreadable`` (neither: left as it is)."""
        ms = self.instant(value)
        if ms is None:
            return value, "already" if self._read(self.new, value) is not None else "unreadable"
        if self.new is None:  # numbers: the text stays, as a number
            number = js_number(_text(value))
            if number is None:
                return value, "inexact"
            written: object = int(number) if number.is_integer() else number
            return (value, "same") if written == value and type(written) is type(value) else (written, "exact")
        written = format_ms(ms, self.new)
        if written == value:
            return value, "same"
        back = self._read(self.new, written)
        if back != ms:
            return written, "inexact"
        again = self.instant(written)
        return written, "ambiguous" if again is not None and again != ms else "exact"


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass(frozen=True)
class Renames:
    """A desired project's renames as a rewrite carries them into one result: ``fields`` (former
    control name -> field) first, then ``labels`` (former label -> label, in control ``label``) or
    ``choices`` (``(field, former value)`` -> value, the field by its new name)."""

    labels: Mapping[str, str]
    fields: Mapping[str, str]
    choices: Mapping[tuple[str, str], str]

    @classmethod
    def of(cls, project: ProjectState) -> Renames:
        return cls(dict(project.renames), dict(project.field_renames),
                   {(name, old): new for name, old, new in project.choice_renames})

    def __bool__(self) -> bool:
        return bool(self.labels or self.fields or self.choices)

    def control(self, name: str) -> str:
        """The name a result of control ``name`` has after the rewrite."""
        return self.fields.get(name, name)

    def value(self, control: str, value: str) -> str:
        """What the label or choice ``value`` of a result of ``control`` (named as after the
        rewrite) becomes."""
        if control == CONTROL_NAME:
            return self.labels.get(value, value)
        return self.choices.get((control, value), value)


STEPS = ("relabel", "field", "choice", "retime")  # what a rewrite counts, per record


@dataclass
class _Tally:
    """What rewriting one project's records found: results changed per step (``STEPS``) and record
    (``(kind, id)``), the renames used (labels, fields and choices), and the statuses of the
    retimed regions."""

    changed: dict[str, dict[tuple[str, int], int]] = field(default_factory=lambda: {step: {} for step in STEPS})
    used: set[tuple[str, str]] = field(default_factory=set)
    used_fields: set[tuple[str, str]] = field(default_factory=set)
    used_choices: set[tuple[str, str, str]] = field(default_factory=set)
    statuses: list[tuple[tuple[str, int], str]] = field(default_factory=list)  # (record, status) per region
    lost: set[tuple[str, int]] = field(default_factory=set)  # drafts Label Studio deletes: not counted
    formats: tuple[str | None, str | None] | None = None  # (old, new) when the time format changes

    def add(self, step: str, key: tuple[str, int], changed: bool) -> None:
        self.changed[step][key] = self.changed[step].get(key, 0) + changed

    def counts(self, step: str, written: set[tuple[str, int]]) -> tuple[int, int, int, int]:
        """``(results, annotations, drafts, predictions)`` that ``step`` changes, of the records
        that are written (a lost draft is not)."""
        found = {key: n for key, n in self.changed[step].items() if n and key in written}
        kinds = [kind for kind, _ in found]
        return (sum(found.values()), kinds.count("annotation"), kinds.count("draft"), kinds.count("prediction"))

    def regions(self, status: str) -> int:
        """Retimed regions of a status, in records that are not lost."""
        return sum(found == status and key not in self.lost for key, found in self.statuses)


def _rename_field(item: dict[str, Any], renames: Renames, tally: _Tally) -> bool:
    """Give one result item of a field's former name the field's name; True if it changed."""
    old = item.get("from_name")
    if not isinstance(old, str) or old not in renames.fields:
        return False
    item["from_name"] = renames.fields[old]
    tally.used_fields.add((old, renames.fields[old]))
    return True


def _rename_values(item: dict[str, Any], renames: Renames, tally: _Tally) -> str | None:
    """Replace former labels (control ``label``) or former choices (a choices result of a field)
    in one result item (after its field's rename); the step that changed it (``relabel``,
    ``choice``), else None. An item carrying a former and a current name keeps one."""
    control, value, kind = item.get("from_name"), item.get("value"), str(item.get("type", ""))
    if not isinstance(control, str) or (control != CONTROL_NAME and kind != "choices") \
            or not isinstance(value, dict) or not isinstance(value.get(kind), list):
        return None
    names = value[kind]
    pairs = [(n, renames.value(control, n)) for n in names if isinstance(n, str)]
    pairs = [(old, new) for old, new in pairs if old != new]
    if not pairs:
        return None
    if control == CONTROL_NAME:
        tally.used.update(pairs)
    else:
        tally.used_choices.update((control, old, new) for old, new in pairs)
    value[kind] = list(dict.fromkeys(renames.value(control, n) if isinstance(n, str) else n for n in names))
    return "relabel" if control == CONTROL_NAME else "choice"


def _retime(item: dict[str, Any], retime: Retime, tally: _Tally, key: tuple[str, int]) -> bool:
    """Re-write one region's start and end; True if either changed. Each status of its bounds
    counts the region once."""
    value = item.get("value")
    if not isinstance(value, dict) or not ({"start", "end"} & set(value)):
        return False
    statuses = set()
    for bound in ("start", "end"):
        if bound in value:
            value[bound], status = retime.convert(value[bound])
            statuses.add(status)
    tally.statuses += [(key, status) for status in statuses]
    return bool(statuses & {"exact", "inexact", "ambiguous"})


def _rewrite(record: ResultRecord, renames: Renames, retime: Retime | None, tally: _Tally) -> str:
    """The record's result with the renames (a field's name, then labels and choices) and the
    retime applied (its own text when nothing changed)."""
    result: Any = json.loads(record.result)
    if not isinstance(result, list):
        return record.result
    key = (record.kind, record.id)
    for item in result:
        if isinstance(item, dict):
            tally.add("field", key, _rename_field(item, renames, tally))
            step = _rename_values(item, renames, tally)
            tally.add("relabel", key, step == "relabel")
            tally.add("choice", key, step == "choice")
            if retime is not None:
                tally.add("retime", key, _retime(item, retime, tally, key))
    changed = any(tally.changed[step].get(key) for step in STEPS)
    return json.dumps(result, ensure_ascii=False) if changed else record.result


def _annotation_order(records: list[ResultRecord], new: dict[int, str]) -> list[ResultRecord]:
    """The annotations to save, per task: cancelled ones that change, then the non-cancelled ones
    from the first that changes to the latest, oldest first (the latest stays the latest)."""
    by_task: dict[int, list[ResultRecord]] = {}
    for record in records:
        by_task.setdefault(record.task, []).append(record)
    ordered: list[ResultRecord] = []
    for _task, found in sorted(by_task.items()):
        ordered += [r for r in found if r.cancelled and new[r.id] != r.result]
        live = sorted((r for r in found if not r.cancelled), key=lambda r: (iso_moment(r.updated_at), r.id))
        first = next((i for i, r in enumerate(live) if new[r.id] != r.result), len(live))
        ordered += live[first:]
    return ordered


def rewrite_step(have: ProjectState, want: ProjectState) -> tuple[RewriteResults | None, _Tally]:
    """The rewrite of ``have``'s records that ``want`` asks for (None: nothing to rewrite)."""
    assert have.usage is not None and have.id is not None
    renames = Renames.of(want)
    retime = Retime(time_format(have.label_config)[1], time_format(want.label_config)[1]) \
        if changes_time_format(have, want) else None
    tally = _Tally(formats=(retime.old, retime.new) if retime else None)
    records = {(r.kind, r.id): r for r in have.usage.records}
    new = {key: _rewrite(r, renames, retime, tally) for key, r in records.items()}
    changed = {key for key, r in records.items() if new[key] != r.result}
    if not changed:
        return None, tally
    annotations = [r for r in records.values() if r.kind == "annotation"]
    saved = _annotation_order(annotations, {r.id: new[(r.kind, r.id)] for r in annotations})
    saved_ids = {r.id for r in saved}
    lost = [r for r in records.values() if r.kind == "draft" and r.annotation in saved_ids]
    tally.lost = {(r.kind, r.id) for r in lost}
    others = sorted((r for key, r in records.items() if r.kind != "annotation" and key in changed and r not in lost),
                    key=lambda r: (r.kind != "prediction", r.id))  # predictions, then drafts
    writes = tuple(RecordWrite(r.kind, r.id, r.task, r.result, new[(r.kind, r.id)]) for r in [*others, *saved])
    written: set[tuple[str, int]] = {(w.kind, w.id) for w in writes}
    step = RewriteResults(have.instance, want.name, have.id, writes,
                          lost_drafts=tuple(RecordWrite(r.kind, r.id, r.task, r.result, "") for r in lost),
                          renames=tuple(sorted(tally.used)), relabeled=tally.counts("relabel", written),
                          retime=tally.formats, retimed=tally.counts("retime", written)[0],
                          label_config=have.label_config,
                          field_renames=tuple(sorted(tally.used_fields)), fields_renamed=tally.counts("field", written),
                          choice_renames=tuple(sorted(tally.used_choices)),
                          choices_renamed=tally.counts("choice", written))
    return step, tally


def rewrites(desired: DesiredState, live: LiveState, overrides: Overrides) -> tuple[list[RewriteResults], list[Check]]:
    """One rewrite step per own live project whose records a rename (of a label, a field or a
    choice) or a time-format change touches, and its checks: ``time-format-change`` (regions the new format cannot hold, or texts
    a re-run could not tell apart; usage unknown: fail closed), ``draft-loss`` (drafts Label Studio
    deletes when the annotation they edit is saved), and a warning for region times neither
    format reads."""
    steps: list[RewriteResults] = []
    checks: list[Check] = []
    for key, want in sorted(desired.projects.items()):
        have = live.projects.get(key)
        if have is None or have.id is None:
            continue
        retiming = changes_time_format(have, want)
        if have.usage is None:
            if retiming:
                checks.append(_time_check(want.name, "the time format changes and whether regions use it is unknown",
                                          overrides))
            continue
        step, tally = rewrite_step(have, want)
        checks += _checks(want.name, step, tally, overrides)
        if step is not None:
            steps.append(step)
    return steps, checks


def _time_check(name: str, message: str, overrides: Overrides) -> Check:
    return Check("time-format-change", name, message, f"--allow-time-format-change {name}",
                 allowed=name in overrides.allow_time_format_change)


def _checks(name: str, step: RewriteResults | None, tally: _Tally, overrides: Overrides) -> list[Check]:
    checks: list[Check] = []
    count = tally.regions
    if tally.formats is not None:
        old, new = (_shown(f) for f in tally.formats)
        if count("inexact"):
            checks.append(_time_check(name, f"{count('inexact')} region(s) cannot be written exactly in {new} "
                                      f"(it is coarser than {old}, or the labeling UI reads what it writes as another "
                                      "time); apply would move them to the nearest time it can write", overrides))
        if count("ambiguous"):
            checks.append(_time_check(name, f"{count('ambiguous')} region(s) written in {new} also read in {old} "
                                      "as another time: a re-run after a failure part-way could not tell them apart",
                                      overrides))
    if count("unreadable"):
        checks.append(Check("time-format-change", name, f"{count('unreadable')} region(s) have times that read in neither the "
                            "old nor the new time format; they are left as they are", blocking=False))
    if step is not None and step.lost_drafts:
        checks.append(Check("draft-loss", name, f"{len(step.lost_drafts)} draft(s) edit annotations the rewrite "
                            "saves, and Label Studio deletes a draft when its annotation is saved: ask their "
                            "labelers to submit or discard them first", f"--allow-draft-loss {name}",
                            allowed=name in overrides.allow_draft_loss))
    return checks


def _shown(specifier: str | None) -> str:
    return "numbers" if specifier is None else repr(specifier)


def rewritten_predictions(steps: list[RewriteResults]) -> dict[int, str]:
    """Prediction id -> its result JSON after the rewrites (to compare with Predictions files)."""
    return {w.id: w.new for step in steps for w in step.writes if w.kind == "prediction"}
