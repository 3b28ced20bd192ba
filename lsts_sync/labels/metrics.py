"""The report's measures, pure: regions on a series' rows in, counts and scores out (no I/O).

Everything is computed on the rows of one labeled object (a source file), as ``dense`` labels them:
a region is the set of rows its closed interval holds (``dense.region_rows``; an instant holds the
rows at exactly its time), kept here as a ``Span``, a half-open range of row positions in time
order. A region that holds no row does not exist on the rows and counts nowhere.

Per object and label (``compare``), a labeled set of spans (the reference) against a predicted one:

- ``event``: a predicted and a labeled span of one label match when the IoU of their row sets is at
  least the threshold; matching is one-to-one and greedy by descending IoU (ties: the earlier
  predicted start, then the earlier labeled start). ``tp`` matched pairs, ``fp`` unmatched
  predicted, ``fn`` unmatched labeled.
- ``range``: range-based precision and recall (Tatbul et al., NeurIPS 2018) with alpha = 0, flat
  positional bias and cardinality factor 1, over the label's row series as a 0/1 array reads it:
  its ranges are the maximal runs of labeled rows (overlapping or touching spans form one range).
  A labeled range's recall is the share of its rows that a predicted range holds; a predicted
  range's precision the share of its rows that a labeled range holds. The sums and counts are kept,
  so the project's figure is the mean over every range of every object.
- ``rows``: row-wise counts (a row of the label predicted and labeled, predicted only, labeled only).

The counts of every object and label add up (``Comparison.__add__``); a project's figures come from
the sums, and "all labels" sums over the labels (micro averages). Counts are kept per object so
that an object cut into windows can be measured on its original rows once its windows' spans are
put back on them. Scores are None where their denominator is 0.

Agreement (``agreement``) compares annotators with each other on the same objects: the mean over
annotator pairs of the event F1 between their spans, and Krippendorff's alpha (nominal) over the
rows, each annotator's value of a row being the set of labels it gives the row (no label is a value
too).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from lsts_sync.labels.dense import label_codes, region_rows


@dataclass(frozen=True)
class Span:
    """A region on one object's rows: its label, its start time (UTC ms; ties in matching) and the
    row positions ``[first, after)`` it holds, in time order."""

    label: str
    start: float
    first: int
    after: int

    @property
    def rows(self) -> int:
        return max(0, self.after - self.first)


def spans(ordered: np.ndarray, regions: Sequence[tuple[str, float, float]]) -> list[Span]:
    """Each region ``(label, start ms, end ms)`` on the rows of ``ordered`` (the object's row
    times sorted ascending, NaN last), by dense's rule (``region_rows``)."""
    if not regions:
        return []
    first, after = region_rows(ordered, np.array([r[1] for r in regions], dtype="float64"),
                               np.array([r[2] for r in regions], dtype="float64"))
    return [Span(label, start, int(f), int(a)) for (label, start, _), f, a in zip(regions, first, after, strict=True)]


def timed_rows(times: np.ndarray) -> int:
    """How many rows have a time (the rows a region can hold)."""
    return int(np.count_nonzero(~np.isnan(times)))


def iou(a: Span, b: Span) -> float:
    """Intersection over union of the two spans' row sets (0 when both are empty)."""
    inter = max(0, min(a.after, b.after) - max(a.first, b.first))
    union = a.rows + b.rows - inter
    return inter / union if union else 0.0


def match(predicted: Sequence[Span], labeled: Sequence[Span], threshold: float) -> list[tuple[int, int]]:
    """One-to-one ``(predicted index, labeled index)`` pairs of the same label whose IoU is at
    least ``threshold`` (and above 0), greedy by descending IoU; ties by the earlier predicted start,
    then the earlier labeled start (then input order)."""
    candidates = []
    for p, pred in enumerate(predicted):
        for q, lab in enumerate(labeled):
            if pred.label == lab.label and (score := iou(pred, lab)) > 0 and score >= threshold:
                candidates.append((-score, pred.start, lab.start, p, q))
    candidates.sort()
    used_p: set[int] = set()
    used_q: set[int] = set()
    pairs = []
    for _, _, _, p, q in candidates:
        if p not in used_p and q not in used_q:
            used_p.add(p)
            used_q.add(q)
            pairs.append((p, q))
    return pairs


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


@dataclass(frozen=True)
class Counts:
    """True positives, false positives, false negatives (events or rows)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        """2 tp / (2 tp + fp + fn): the harmonic mean of precision and recall where both exist,
        0 when one side is empty and the other is not, None when both are."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)


@dataclass(frozen=True)
class RangeSums:
    """Sums of the range-based recall of labeled ranges and precision of predicted ranges, with
    how many ranges each sum is over."""

    recall_sum: float = 0.0
    labeled: int = 0
    precision_sum: float = 0.0
    predicted: int = 0

    def __add__(self, other: RangeSums) -> RangeSums:
        return RangeSums(self.recall_sum + other.recall_sum, self.labeled + other.labeled,
                         self.precision_sum + other.precision_sum, self.predicted + other.predicted)

    @property
    def precision(self) -> float | None:
        return _ratio(self.precision_sum, self.predicted)

    @property
    def recall(self) -> float | None:
        return _ratio(self.recall_sum, self.labeled)

    @property
    def f1(self) -> float | None:
        """The harmonic mean of precision and recall: None when either is None, 0 when both are 0."""
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Comparison:
    """Predicted against labeled spans, for one label of one object or summed over many."""

    event: Counts = Counts()
    range: RangeSums = RangeSums()
    rows: Counts = Counts()

    def __add__(self, other: Comparison) -> Comparison:
        return Comparison(self.event + other.event, self.range + other.range, self.rows + other.rows)

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The report's JSON shape (numbers unrounded, None where undefined)."""
        def scores(of: Counts | RangeSums) -> dict[str, float | None]:
            return {"precision": of.precision, "recall": of.recall, "f1": of.f1}

        event = self.event
        return {"event": {"tp": event.tp, "fp": event.fp, "fn": event.fn, **scores(event)},
                "range": scores(self.range), "rows": scores(self.rows)}


Runs = list[tuple[int, int]]


def runs(spans: Iterable[Span]) -> Runs:
    """The maximal runs ``[first, after)`` of rows the spans hold, sorted (overlapping or touching
    spans form one run, as in a 0/1 row series)."""
    merged: Runs = []
    for first, after in sorted((s.first, s.after) for s in spans if s.rows):
        if merged and first <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], after))
        else:
            merged.append((first, after))
    return merged


def held(run: tuple[int, int], others: Runs) -> int:
    """How many rows of ``run`` the disjoint ``others`` hold."""
    return sum(max(0, min(run[1], b) - max(run[0], a)) for a, b in others)


def _range_sums(labeled: Runs, predicted: Runs) -> RangeSums:
    """Tatbul et al.'s recall and precision (alpha 0, flat bias, cardinality 1), summed per range."""
    return RangeSums(sum(held(r, predicted) / (r[1] - r[0]) for r in labeled), len(labeled),
                     sum(held(p, labeled) / (p[1] - p[0]) for p in predicted), len(predicted))


def _row_counts(labeled: Runs, predicted: Runs) -> Counts:
    both = sum(held(r, predicted) for r in labeled)
    return Counts(both, sum(b - a for a, b in predicted) - both, sum(b - a for a, b in labeled) - both)


def compare(labeled: Sequence[Span], predicted: Sequence[Span], threshold: float) -> dict[str, Comparison]:
    """Label -> the comparison of one object's predicted spans against its labeled ones, for every
    label that a span holding a row carries (spans that hold no row are left out)."""
    found = {}
    for label in sorted({s.label for s in (*labeled, *predicted) if s.rows}):
        mine = [s for s in labeled if s.label == label and s.rows]
        theirs = [s for s in predicted if s.label == label and s.rows]
        pairs = len(match(theirs, mine, threshold))
        ours, yours = runs(mine), runs(theirs)
        found[label] = Comparison(Counts(pairs, len(theirs) - pairs, len(mine) - pairs),
                                  _range_sums(ours, yours), _row_counts(ours, yours))
    return found


def total(comparisons: Iterable[Mapping[str, Comparison]]) -> dict[str, Comparison]:
    """Label -> the sum of its comparisons over objects."""
    summed: dict[str, Comparison] = {}
    for per_label in comparisons:
        for label, comparison in per_label.items():
            summed[label] = summed.get(label, Comparison()) + comparison
    return summed


def overall(per_label: Mapping[str, Comparison]) -> Comparison:
    """All labels together: the sum over labels."""
    return sum(per_label.values(), Comparison())


@dataclass(frozen=True)
class Annotated:
    """One object labeled by two or more annotators: its row count and each annotator's spans."""

    rows: int
    annotators: Mapping[str, Sequence[Span]]


@dataclass(frozen=True)
class Agreement:
    """How much annotators agree: over ``tasks`` objects with two or more annotators and ``pairs``
    distinct annotator pairs, the mean event F1 of the pairs and Krippendorff's alpha (nominal)."""

    tasks: int = 0
    pairs: int = 0
    event_f1: float | None = None
    alpha: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "pairs": self.pairs, "event_f1": self.event_f1, "alpha": self.alpha}


def agreement(objects: Sequence[Annotated], threshold: float) -> Agreement:
    """Agreement over ``objects`` (each with two or more annotators). A pair's event counts are
    summed over the objects both labeled (the first in e-mail order in the predicted role), its F1
    taken from the sums; pairs whose F1 is None (neither labeled anything) are left out of the
    mean. Alpha's units are the objects' rows; an annotator who did not label an object has no
    value for its rows."""
    pairs: dict[tuple[str, str], Counts] = {}
    for obj in objects:
        for a, b in combinations(sorted(obj.annotators), 2):
            event = overall(compare(obj.annotators[b], obj.annotators[a], threshold)).event
            pairs[(a, b)] = pairs.get((a, b), Counts()) + event
    scores = [f1 for counts in pairs.values() if (f1 := counts.f1) is not None]
    labels = sorted({s.label for obj in objects for spans in obj.annotators.values() for s in spans})
    return Agreement(len(objects), len(pairs), sum(scores) / len(scores) if scores else None,
                     nominal_alpha(row_values(obj, labels) for obj in objects))


def row_values(obj: Annotated, labels: Sequence[str]) -> np.ndarray:
    """Annotators x rows: each annotator's set of labels of each row as a bit mask over ``labels``
    (the same for every object, so equal masks are equal sets), as ``dense`` labels rows."""
    def codes(spans: Sequence[Span]) -> np.ndarray:
        by_label: dict[str, list[Span]] = {}
        for span in spans:
            by_label.setdefault(span.label, []).append(span)
        ranges = {label: (np.array([s.first for s in found], dtype=np.int64),
                          np.array([s.after for s in found], dtype=np.int64)) for label, found in by_label.items()}
        return label_codes(obj.rows, ranges, labels)

    return np.vstack([codes(obj.annotators[who]) for who in sorted(obj.annotators)])


def nominal_alpha(units: Iterable[np.ndarray]) -> float | None:
    """Krippendorff's alpha for nominal values: ``units`` are blocks of coders x units, every coder
    of a block having a value for each of its units (coders differ between blocks). None when fewer
    than two values are pairable or every pairable value is the same (no expected disagreement).

    alpha = 1 - (n - 1) * sum_u D_u / (n^2 - sum_c n_c^2), where D_u is the number of ordered pairs
    of unequal values in unit u divided by (m_u - 1) and n_c how often value c is pairable."""
    observed, n = 0.0, 0
    totals: dict[Any, int] = {}
    for block in units:
        coders = block.shape[0]
        if coders < 2 or block.shape[1] == 0:
            continue
        equal = sum((block[i] == block[j]).astype(np.int64) for i, j in combinations(range(coders), 2))
        observed += float((coders * (coders - 1) - 2 * equal).sum()) / (coders - 1)
        n += block.size
        values, counts = np.unique(block, return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            totals[value] = totals.get(value, 0) + count
    expected = n * n - sum(c * c for c in totals.values())
    if n < 2 or not expected:
        return None
    return 1.0 - (n - 1) * observed / expected
