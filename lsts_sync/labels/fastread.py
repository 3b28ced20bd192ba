"""The fast path of ``read_annotations``: an export snapshot's tasks decoded straight into typed
structs (msgspec) holding only what a label table reads, flattened a batch of regions at a time
into Arrow columns, sorted by Arrow.

Contract: ``read`` gives the very rows, files and label counts that the reference path
(``annotations.task_rows``, ``_frame``, ``_sorted``) gives for the same tasks, or None:

- a task that the structs do not take (a result or a value that is not an object, labels that are
  not a list, a number msgspec refuses, text that is not UTF-8) makes it return None at once, and
  the caller reads every task again the reference way (nothing has been written yet);
- the structs decode every value the reference reads as ``Any`` (the same Python values the
  standard library's decoder gives) and the flattening follows ``task_rows`` rule for rule;
- a column is kept as Arrow only while its values are all text, whole numbers (int64), booleans or
  missing, the types whose Arrow array gives back the same Python values; any other column keeps
  its Python values and the whole table is then built and sorted as the reference builds it;
- Arrow sorts only when the sort keys are ones it orders as pandas does: text starts of which the
  first is not a number (so the reference sorts them as text), or whole-number starts; text labels;
  whole-number task and annotation ids; no key missing. Otherwise the reference sorts.

The columns of a region's annotation (project, task, file, annotation, annotator, updated_at, task
fields) are dictionary-encoded: each annotation's value is held once, with an index per row.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lsts_sync.labels.annotations import (
    COLUMNS,
    Annotations,
    Fields,
    _frame,
    _sorted,
    annotator_of,
    field_value,
    source_bucket,
    source_file,
)
from lsts_sync.resources.state import iso_moment
from lsts_sync.ui.template import DATA_KEY

REGION = "timeserieslabels"
BATCH = 4096  # regions flattened at a time: small enough that they are still in the CPU's cache
FIELD_KEYS = ("choices", "text", "number", "rating")  # the keys ``field_value`` reads
UNSET: Any = msgspec.UNSET
_ARROW_TYPES = (pa.string(), pa.int64(), pa.bool_(), pa.null())  # give back the Python values they were built from


class _Value(msgspec.Struct, gc=False):
    start: Any = None
    end: Any = None
    instant: Any = UNSET
    timeserieslabels: list[Any] = msgspec.field(default_factory=list)
    choices: Any = UNSET
    text: Any = UNSET
    number: Any = UNSET
    rating: Any = UNSET


class _Result(msgspec.Struct, gc=False):
    type: Any = None
    value: _Value | None = None
    from_name: Any = None
    id: Any = None


class _Annotation(msgspec.Struct, gc=False):
    id: Any = None
    completed_by: Any = None
    was_cancelled: Any = None
    updated_at: Any = None
    result: list[_Result] | None = None


class _Data(msgspec.Struct, gc=False):
    source: Any = msgspec.field(default=None, name=DATA_KEY)


class _Task(msgspec.Struct, gc=False):
    id: Any = None
    data: _Data | None = None
    storage_filename: Any = None
    annotations: list[_Annotation] | None = None


_DECODER = msgspec.json.Decoder(_Task)


def read(texts: Iterable[memoryview], project: str, which: str, users: dict[int, str],
         fields: Fields) -> Annotations | None:
    """The annotations of the tasks whose JSON texts are ``texts`` (see the module docstring);
    None when a task does not fit the structs."""
    with _collector_paused():
        gather = _Gather(project, which, users, fields)
        for text in texts:
            try:
                task = _DECODER.decode(text)
            except (msgspec.ValidationError, msgspec.DecodeError):
                return None
            gather.task(task)
        return gather.finish()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused, then restored as it was. Reading a snapshot keeps
    millions of decoded lists and values alive and makes none of them into a cycle, so each of the
    collector's passes only walks them again: pausing it took 7 % off the table export's transform
    (make bench, part export). Memory is unaffected: everything it could have freed is freed by
    reference counting."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _task_dict(task: _Task) -> dict[str, Any]:
    """What ``source_file`` and ``source_bucket`` read of a task."""
    data = {DATA_KEY: task.data.source} if task.data is not None else None
    return {"data": data, "storage_filename": task.storage_filename}


def _picked(task: _Task, which: str) -> list[_Annotation]:
    """``annotations.pick_annotations`` on the structs."""
    valid = [a for a in task.annotations or [] if not a.was_cancelled]
    if which == "all" or not valid:
        return valid
    return [max(valid, key=lambda a: (iso_moment(a.updated_at), a.id or 0))]


def _count_fields(results: list[_Result], used: Counter[tuple[str, str]]) -> None:
    """``annotations.count_field`` on the structs: every result that is no region, by its control
    and, for a choices result, by each of its choices."""
    for result in results:
        if result.type == REGION or not isinstance(result.from_name, str):
            continue
        used[(result.from_name, "")] += 1
        choices = result.value.choices if result.value is not None else UNSET
        if result.type == "choices" and isinstance(choices, list):
            used.update((result.from_name, str(choice)) for choice in choices)


def _field_values(results: list[_Result], fields: Fields) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """``annotations.field_values`` on the structs."""
    regions = {r.id for r in results if r.type == REGION}
    per_region: dict[Any, dict[str, Any]] = {}
    per_task: dict[str, Any] = {}
    for result in results:
        name, value, ident = result.from_name, result.value, result.id
        if result.type == REGION or value is None or not isinstance(name, str):
            continue
        given = {key: getattr(value, key) for key in FIELD_KEYS if getattr(value, key) is not UNSET}
        if name in fields.region and ident is not None and ident in regions:
            per_region.setdefault(ident, {})[name] = field_value(given)
        elif name in fields.task:
            per_task[name] = field_value(given)
    return per_region, per_task


class _Column:
    """A column gathered batch by batch: Arrow arrays while every batch is one of ``_ARROW_TYPES``
    (all-missing batches aside), else Python lists of the values as decoded."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.arrow = True

    def add(self, values: list[Any] | pa.Array) -> None:
        if isinstance(values, pa.Array):  # already checked to be one of _ARROW_TYPES
            values = values if self.arrow else values.to_pylist()
        if self.arrow:
            array = values if isinstance(values, pa.Array) else _arrow(values)
            if array is not None:
                self.chunks.append(array)
                return
            self.python()
        self.chunks.append(values)

    def python(self) -> None:
        if self.arrow:
            self.chunks = [c.to_pylist() for c in self.chunks]
            self.arrow = False

    def array(self) -> pa.ChunkedArray | None:
        """The whole column in Arrow (its batches as chunks, not copied into one), or None (it keeps Python values)."""
        if not self.arrow:
            return None
        kinds = {c.type for c in self.chunks} - {pa.null()}
        if len(kinds) > 1:
            self.python()
            return None
        kind = kinds.pop() if kinds else pa.null()
        return pa.chunked_array([c.cast(kind) for c in self.chunks], kind)

    def values(self) -> list[Any]:
        self.python()
        return [v for chunk in self.chunks for v in chunk]


def _arrow(values: list[Any]) -> pa.Array | None:
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        return None
    return array if array.type in _ARROW_TYPES else None


class _Gather:
    """Rows gathered task by task: per annotation its own columns, per region its columns, a batch
    of regions at a time."""

    def __init__(self, project: str, which: str, users: dict[int, str], fields: Fields):
        self.project, self.which, self.users, self.fields = project, which, users, fields
        self.files: dict[str, str | None] = {}
        self.used: Counter[tuple[str, str]] = Counter()
        self.used_fields: Counter[tuple[str, str]] = Counter()  # ``annotations.count_field``'s counts
        self.per_annotation: list[list[Any]] = [[] for _ in range(6 + len(fields.task))]  # see ``annotation``
        self.regions: list[_Result] = []  # this batch's
        self.region_counts: list[int] = []  # each annotation's (all batches)
        self.flushed = 0  # annotations whose regions are in the columns
        self.field_values: list[list[Any]] = [[] for _ in fields.region]  # this batch's
        self.columns = {name: _Column() for name in ("label", "start", "end", "instant", *fields.region)}
        self.owner_chunks: list[np.ndarray] = []

    def task(self, task: _Task) -> None:
        picked = _picked(task, self.which)
        if not picked:
            return
        shape = _task_dict(task)
        file = source_file(shape)
        self.files[file] = source_bucket(shape)
        for annotation in picked:
            self.annotation(task, file, annotation)
        if len(self.regions) >= BATCH:
            self.flush()

    def annotation(self, task: _Task, file: str, annotation: _Annotation) -> None:
        results = annotation.result or []
        regions = [r for r in results if r.type == REGION and r.value is not None]
        if len(regions) < len(results):
            _count_fields(results, self.used_fields)
        per_region, per_task = _field_values(results, self.fields) if self.fields.columns else ({}, {})
        own = [self.project, task.id, file, annotation.id, annotator_of({"completed_by": annotation.completed_by},
                                                                          self.users), annotation.updated_at]
        for column, value in zip(self.per_annotation, own + [per_task.get(n) for n in self.fields.task], strict=True):
            column.append(value)
        self.regions += regions
        self.region_counts.append(len(regions))
        for values, name in zip(self.field_values, self.fields.region, strict=True):
            values += [per_region.get(r.id, {}).get(name) for r in regions]

    def flush(self) -> None:
        """Turn this batch's regions into rows (one per label, as ``task_rows``) and add them to the columns."""
        values = [r.value for r in self.regions]
        labels = [v.timeserieslabels for v in values]  # type: ignore[union-attr]
        counts = list(map(len, labels))
        starts = [v.start for v in values]  # type: ignore[union-attr]
        ends = [v.end for v in values]  # type: ignore[union-attr]
        instants = _instants(values, starts, ends)
        names = [r.from_name for r in self.regions]
        region_columns = {"start": starts, "end": ends, "instant": instants,
                          **dict(zip(self.fields.region, self.field_values, strict=True))}
        annotations = len(self.region_counts)
        owners = np.repeat(np.arange(self.flushed, annotations), self.region_counts[self.flushed:])
        if counts.count(1) == len(counts):
            rows = [label[0] for label in labels]
        else:  # some region has no label or several: its values once per label
            repeat = np.repeat(np.arange(len(counts)), counts)
            rows = [label for each in labels for label in each]
            region_columns = {k: _repeated(v, repeat) for k, v in region_columns.items()}
            names, owners = [names[i] for i in repeat.tolist()], owners[repeat]
        array = _arrow(rows)
        self.used.update(_label_counts(names, rows, array))
        self.columns["label"].add(array if array is not None else rows)
        for name, column in region_columns.items():
            self.columns[name].add(column)
        self.owner_chunks.append(owners)
        self.regions, self.flushed = [], annotations
        self.field_values = [[] for _ in self.fields.region]

    def finish(self) -> Annotations:
        self.flush()
        owners = np.concatenate(self.owner_chunks)
        names = COLUMNS + self.fields.columns
        table = self.table(owners, names)
        if table is not None:
            order = _order(table)
            if order is not None:
                in_order = bool(np.array_equal(order.to_numpy(), np.arange(len(order))))
                return Annotations(table if in_order else table.take(order), self.files, dict(self.used),
                                   dict(self.used_fields))
        return Annotations(_sorted(_frame(names, self.python_columns(owners, names))), self.files, dict(self.used),
                           dict(self.used_fields))

    def owner_columns(self) -> dict[str, list[Any]]:
        own = ["project", "task_id", "file", "annotation_id", "annotator", "updated_at", *self.fields.task]
        return dict(zip(own, self.per_annotation, strict=True))

    def table(self, owners: np.ndarray, names: list[str]) -> pa.Table | None:
        """Every column as Arrow (the annotation's columns dictionary-encoded), or None."""
        indices = pa.array(owners.astype(np.int32))
        columns: dict[str, pa.Array | pa.ChunkedArray] = {}
        for name, values in self.owner_columns().items():
            dictionary = _arrow(values)
            if dictionary is None:
                return None
            columns[name] = (pa.nulls(len(owners)) if dictionary.type == pa.null()
                             else pa.DictionaryArray.from_arrays(indices, dictionary))
        for name, column in self.columns.items():
            array = column.array()
            if array is None:
                return None
            columns[name] = array
        return pa.table({name: columns[name] for name in names})

    def python_columns(self, owners: np.ndarray, names: list[str]) -> list[list[Any]]:
        columns = {name: [values[i] for i in owners.tolist()] for name, values in self.owner_columns().items()}
        columns.update({name: column.values() for name, column in self.columns.items()})
        return [columns[name] for name in names]


def _instants(values: list[Any], starts: list[Any], ends: list[Any]) -> list[Any] | pa.Array:
    """Each region's ``instant`` as ``task_rows`` takes it: its own, as a boolean; a start equal to
    its end without one. An Arrow array when every region gives a boolean (Arrow refuses anything
    else for a boolean array, even 1 or 0)."""
    given = [v.instant for v in values]
    try:
        array = pa.array(given, type=pa.bool_())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = None
    if array is not None and not array.null_count:
        return array
    return [bool(i) if i is not UNSET else (s is not None and s == e) for i, s, e in zip(given, starts, ends, strict=True)]


def _repeated(values: list[Any] | pa.Array, repeat: np.ndarray) -> list[Any] | pa.Array:
    if isinstance(values, pa.Array):
        return values.take(pa.array(repeat))
    return [values[i] for i in repeat.tolist()]


def _label_counts(controls: list[Any], labels: list[Any], array: pa.Array | None) -> Counter[tuple[str, str]]:
    """``(str(control), str(label))`` -> rows, as ``task_rows`` counts them; ``array``: the labels
    as Arrow, if they are of one of ``_ARROW_TYPES``."""
    if array is not None and array.type == pa.string() and not array.null_count and controls \
            and controls.count(controls[0]) == len(controls):
        control = str(controls[0])  # one control (the usual case): Arrow counts the labels
        found = pc.value_counts(array)
        return Counter(dict(zip(((control, label) for label in found.field("values").to_pylist()),
                                found.field("counts").to_pylist(), strict=True)))
    return Counter(zip(map(str, controls), map(str, labels), strict=True))


def _order(table: pa.Table) -> pa.Array | None:
    """The reference's row order (``_sorted``: file, start, label, task and annotation id, stable)
    computed by Arrow, or None when the keys are not ones Arrow orders as pandas does."""
    if table.num_rows == 0:
        return None
    start, label = table.column("start"), table.column("label")
    keys = [table.column("task_id").combine_chunks().dictionary_decode(),
            table.column("annotation_id").combine_chunks().dictionary_decode()]
    if start.null_count or label.null_count or label.type != pa.string() or any(k.null_count for k in keys) \
            or any(k.type != pa.int64() for k in keys):
        return None
    if start.type == pa.string():
        first = pd.to_numeric(pd.Series([start[0].as_py()], dtype=object), errors="coerce")
        if first.notna().all():  # the reference may sort these as numbers
            return None
    elif start.type != pa.int64():
        return None
    file = table.column("file").combine_chunks()
    ranks = pc.rank(file.dictionary, sort_keys="ascending", tiebreaker="dense")
    order_keys = pa.table({"file": pc.take(ranks, file.indices), "start": start, "label": label,
                           "task_id": keys[0], "annotation_id": keys[1]})
    return pc.sort_indices(order_keys, sort_keys=[(name, "ascending") for name in order_keys.column_names])
