"""The report's measures on small hand-made cases, and against independent references: ``prts``
(range-based precision and recall, Tatbul et al. 2018) and ``krippendorff`` (alpha)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lsts_sync.labels.dense import row_labels
from lsts_sync.labels.metrics import (
    Annotated,
    Comparison,
    Counts,
    RangeSums,
    Span,
    agreement,
    compare,
    match,
    nominal_alpha,
    overall,
    spans,
    timed_rows,
    total,
)

TIMES = np.arange(10, dtype="float64") * 10.0  # rows at 0, 10, ..., 90 ms


def on_rows(*regions: tuple[str, float, float], times: np.ndarray = TIMES) -> list[Span]:
    return spans(np.sort(times), list(regions))


def test_a_region_holds_the_rows_of_its_closed_interval_and_an_instant_its_row_or_none() -> None:
    found = on_rows(("A", 10, 30), ("A", 15, 25), ("B", 40, 40), ("B", 45, 45), ("A", -5, 0))
    assert [(s.first, s.after, s.rows) for s in found] == [(1, 4, 3), (2, 3, 1), (4, 5, 1), (5, 5, 0), (0, 1, 1)]


def test_spans_hold_exactly_the_rows_dense_labels() -> None:
    times = np.array([30, np.nan, 0, 10, 20, 20, 50], dtype="float64")
    regions = [("A", 10, 20), ("B", 20, 20), ("A", 45, 60)]
    text, _ = row_labels(times, regions)
    order = np.argsort(times, kind="stable")
    for label in ("A", "B"):
        dense_rows = {int(np.where(order == i)[0][0]) for i, t in enumerate(text) if label in t.split("|")}
        ours = {r for s in spans(times[order], regions) if s.label == label for r in range(s.first, s.after)}
        assert ours == dense_rows
    assert timed_rows(times) == 6


def test_matching_is_greedy_by_iou_then_earlier_predicted_then_earlier_labeled_start() -> None:
    labeled = on_rows(("A", 20, 50))  # rows 2..5
    # two predictions with the same IoU (3/4): the earlier start is matched
    later, earlier = on_rows(("A", 30, 50), ("A", 20, 40))
    assert match([later, earlier], labeled, 0.5) == [(1, 0)]
    # one prediction, two labeled of equal IoU with it: the earlier labeled start is matched
    predicted = on_rows(("A", 30, 40))
    second, first = on_rows(("A", 40, 50), ("A", 20, 30))
    assert match(predicted, [second, first], 0.3) == [(0, 1)]  # IoU 1/3 each
    # greedy by descending IoU, not by position: P0 takes L1 (IoU 1), so L0 stays unmatched
    assert match(on_rows(("A", 20, 40)), on_rows(("A", 10, 30), ("A", 20, 40)), 0.1) == [(0, 1)]


def test_matching_is_one_to_one_per_label_and_needs_the_threshold() -> None:
    labeled = on_rows(("A", 10, 40), ("B", 10, 40))
    assert match(on_rows(("A", 10, 40), ("A", 10, 40)), labeled, 0.5) == [(0, 0)]
    assert match(on_rows(("B", 10, 20)), labeled, 0.5) == [(0, 1)]  # IoU 2/4 = 0.5: at least the threshold
    assert match(on_rows(("B", 10, 10)), labeled, 0.5) == []  # IoU 1/4
    assert match(on_rows(("B", 10, 10)), labeled, 0.25) == [(0, 1)]


def test_instants_match_on_their_row_and_those_between_rows_count_nowhere() -> None:
    found = compare(on_rows(("A", 30, 30), ("A", 35, 35)), on_rows(("A", 30, 30), ("B", 55, 55)), 0.5)
    assert found == {"A": Comparison(Counts(1, 0, 0), RangeSums(1.0, 1, 1.0, 1), Counts(1, 0, 0))}


def test_hand_computed_event_range_and_rows() -> None:
    # labeled: rows 1-3 and 6-7; predicted: rows 2-4 and 9
    found = compare(on_rows(("A", 10, 30), ("A", 60, 70)), on_rows(("A", 20, 40), ("A", 90, 90)), 0.5)["A"]
    assert found.event == Counts(tp=1, fp=1, fn=1)  # IoU 2/4 matches
    assert found.range == RangeSums(recall_sum=2 / 3, labeled=2, precision_sum=2 / 3, predicted=2)
    assert found.rows == Counts(tp=2, fp=2, fn=3)
    assert found.to_json() == {
        "event": {"tp": 1, "fp": 1, "fn": 1, "precision": 0.5, "recall": 0.5, "f1": 0.5},
        "range": {"precision": 1 / 3, "recall": 1 / 3, "f1": pytest.approx(1 / 3)},
        "rows": {"precision": 0.5, "recall": 0.4, "f1": 4 / 9}}


def test_overlapping_and_touching_regions_form_one_range() -> None:
    found = compare(on_rows(("A", 10, 30), ("A", 20, 50), ("A", 60, 60)), on_rows(("A", 0, 90)), 0.1)["A"]
    assert found.range == RangeSums(1.0, 1, 0.6, 1)  # one labeled range of rows 1-6, 6 of the 10 predicted rows
    assert found.event == Counts(tp=1, fp=0, fn=2)  # events stay regions: 3 labeled


def test_no_predictions() -> None:
    scores = compare(on_rows(("A", 10, 30)), [], 0.5)["A"].to_json()
    assert scores == {"event": {"tp": 0, "fp": 0, "fn": 1, "precision": None, "recall": 0.0, "f1": 0.0},
                      "range": {"precision": None, "recall": 0.0, "f1": None},
                      "rows": {"precision": None, "recall": 0.0, "f1": 0.0}}


def test_no_labels() -> None:
    scores = compare([], on_rows(("A", 10, 30)), 0.5)["A"].to_json()
    assert scores == {"event": {"tp": 0, "fp": 1, "fn": 0, "precision": 0.0, "recall": None, "f1": 0.0},
                      "range": {"precision": 0.0, "recall": None, "f1": None},
                      "rows": {"precision": 0.0, "recall": None, "f1": 0.0}}


def test_nothing_on_either_side_is_all_null() -> None:
    assert compare([], on_rows(("A", 35, 35)), 0.5) == {}
    assert overall({}).to_json() == {
        "event": {"tp": 0, "fp": 0, "fn": 0, "precision": None, "recall": None, "f1": None},
        "range": {"precision": None, "recall": None, "f1": None},
        "rows": {"precision": None, "recall": None, "f1": None}}


def test_objects_and_labels_add_up_as_micro_averages() -> None:
    one = compare(on_rows(("A", 10, 30), ("B", 50, 50)), on_rows(("A", 10, 30)), 0.5)
    two = compare(on_rows(("A", 10, 10)), on_rows(("A", 50, 60)), 0.5)
    summed = total([one, two])
    assert summed["A"].event == Counts(1, 1, 1) and summed["B"].event == Counts(0, 0, 1)
    assert summed["A"].range == RangeSums(1.0, 2, 1.0, 2)
    everything = overall(summed)
    assert everything.event == Counts(1, 1, 2)
    assert everything.range.recall == pytest.approx(1 / 3)  # the mean over the three labeled ranges
    assert everything.rows == Counts(3, 2, 2)


def _random_case(rng: random.Random, n: int) -> tuple[np.ndarray, list, list]:
    times = np.array(sorted(rng.sample(range(0, 10 * n), n)), dtype="float64")

    def regions(count: int) -> list[tuple[str, float, float]]:
        found = []
        for _ in range(count):
            start = rng.uniform(-5, 10 * n)
            found.append(("A", start, start if rng.random() < 0.2 else start + rng.uniform(0, 4 * n)))
        return found

    return times, regions(rng.randint(1, 4)), regions(rng.randint(1, 4))


def test_range_and_rows_agree_with_prts_on_random_series() -> None:
    import prts  # the reference; make install adds it (see the Makefile: it pins numpy below 2)
    rng = random.Random(7)
    checked = 0
    for _ in range(300):
        times, labeled, predicted = _random_case(rng, rng.randint(5, 60))
        real = np.array(["A" in t.split("|") for t in row_labels(times, labeled)[0]], dtype=int)
        pred = np.array(["A" in t.split("|") for t in row_labels(times, predicted)[0]], dtype=int)
        found = compare(spans(times, labeled), spans(times, predicted), 0.5).get("A", Comparison())
        if real.any() and pred.any():
            assert found.range.recall == pytest.approx(prts.ts_recall(real, pred, alpha=0.0, cardinality="one",
                                                                      bias="flat"))
            assert found.range.precision == pytest.approx(prts.ts_precision(real, pred, alpha=0.0,
                                                                            cardinality="one", bias="flat"))
            checked += 1
        assert (found.rows.tp, found.rows.fp, found.rows.fn) == (
            int((real & pred).sum()), int((pred & (1 - real)).sum()), int((real & (1 - pred)).sum()))
    assert checked > 200


def test_agreement_of_two_annotators_by_hand() -> None:
    obj = Annotated(10, {"b@x": on_rows(("A", 10, 30)), "a@x": on_rows(("A", 10, 30), ("B", 60, 60))})
    found = agreement([obj], 0.5)
    assert (found.tasks, found.pairs, found.event_f1) == (1, 1, 2 / 3)
    # a gives rows 1-3 {A}, row 6 {B}, the rest {}; b rows 1-3 {A}, the rest {}: n = 20 values,
    # {} 13, {A} 6, {B} 1; one unit (row 6) holds 2 ordered unequal pairs over m - 1 = 1
    assert found.alpha == pytest.approx(1 - 19 * 2 / (20 ** 2 - (13 ** 2 + 6 ** 2 + 1 ** 2)))


def test_agreement_without_two_annotators_is_null() -> None:
    assert agreement([], 0.5).to_json() == {"tasks": 0, "pairs": 0, "event_f1": None, "alpha": None}
    same = agreement([Annotated(4, {"a": [], "b": []})], 0.5)
    assert (same.pairs, same.event_f1, same.alpha) == (1, None, None)  # nothing labeled: no disagreement expected


def test_alpha_agrees_with_the_krippendorff_package_with_sets_of_labels_and_missing_annotators() -> None:
    import krippendorff  # the reference (the test extra)
    rng = random.Random(3)
    people = ["a@x", "b@x", "c@x", "d@x"]
    for _ in range(40):
        objects, columns = [], []
        for _ in range(rng.randint(1, 4)):
            times = np.arange(rng.randint(3, 30), dtype="float64")
            who = rng.sample(people, rng.randint(2, 4))
            regions = {p: [(rng.choice("ABC"), s, s + rng.uniform(0, 8)) for s in
                           (rng.uniform(-2, len(times)) for _ in range(rng.randint(0, 4)))] for p in who}
            objects.append(Annotated(len(times), {p: spans(times, r) for p, r in regions.items()}))
            texts = {p: row_labels(times, r)[0] for p, r in regions.items()}
            columns += [[texts[p][i] if p in texts else None for p in people] for i in range(len(times))]
        values = sorted({v for column in columns for v in column if v is not None})
        data = np.array([[np.nan if c[k] is None else values.index(c[k]) for c in columns] for k in range(len(people))])
        ours = agreement(objects, 0.5).alpha
        if len(values) < 2:
            assert ours is None
            continue
        assert ours == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def test_nominal_alpha_of_a_textbook_case() -> None:
    # two coders, 4 units: values agree on 3 of them
    assert nominal_alpha([np.array([[1, 1, 2, 2], [1, 1, 2, 1]])]) == pytest.approx(1 - 7 * 2 / (64 - 25 - 9))
