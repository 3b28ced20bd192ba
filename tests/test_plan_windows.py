"""``plan.windows``, pure: the checks of a staged source (``window-annotated``, ``windows-vanished``,
``data``) with their exact projects, messages, overrides and blocking; the prune of vanished
objects; ``at_risk`` across objects; ``all_window_changes`` over several sources; and predicted
regions clipped to windows, on a time format and on a numeric time axis."""

from __future__ import annotations

import json

from lsts_sync.labels.predictions import region
from lsts_sync.plan.changes import Check, ObjectWrite, WriteWindows
from lsts_sync.plan.options import Overrides
from lsts_sync.plan.windows import all_window_changes, at_risk, predictions_on_windows, window_changes
from lsts_sync.resources.state import PredictionSet, TaskPrediction, canonical_result
from lsts_sync.resources.windows import ObjectWindows, WindowFacts, WindowFile, manifest_key, window_key

FOLDER = ".lsts-sync/windows/default/w/"
NONE = Overrides()
FMT = "%Y-%m-%d %H:%M:%S"
HOUR = 3_600_000.0
BASE = 1767225600000.0  # 2026-01-01 00:00:00 UTC


def obj(key: str, names: tuple[str, ...], current: bool = False) -> ObjectWindows:
    return ObjectWindows(key, f"etag-{key}", 1, tuple(WindowFile(n, f"md5-{n}", 1, 0.0, 0.0) for n in names), current)


def staged(objects: tuple[ObjectWindows, ...], existing: dict[str, str], project: str = "w",
           folder: str = FOLDER) -> WindowFacts:
    return WindowFacts("local", project, "data", folder, "fp", objects, tuple(sorted(existing.items())), spec="{}")


def key(source: str, name: str, folder: str = FOLDER) -> str:
    return window_key(folder, source, name)


# A present object whose window "b" is rewritten, and a vanished object "raw/b.csv" with one window.
PRESENT = obj("raw/a.csv", ("a", "b"))
EXISTING = {key("raw/a.csv", "a"): "md5-a", key("raw/a.csv", "b"): "old", manifest_key(FOLDER, "raw/a.csv"): "m",
            key("raw/b.csv", "x"): "md5-x", manifest_key(FOLDER, "raw/b.csv"): "m"}


def test_an_annotated_window_to_rewrite_is_the_blocking_window_annotated_check_of_its_project() -> None:
    found = staged((PRESENT,), EXISTING)
    _, checks = window_changes(found, frozenset({key("raw/a.csv", "b")}), True, NONE)
    assert checks == [Check("window-annotated", "w", "1 window file(s) with annotations or drafts would be rewritten "
                            "or deleted because their source object changed, e.g. "
                            f"s3://data/{key('raw/a.csv', 'b')}", "--allow-window-rewrite w", blocking=True,
                            allowed=False)]
    _, other = window_changes(found, frozenset({key("raw/a.csv", "b")}), True,
                              Overrides(allow_window_rewrite=frozenset({"other"})))
    assert not other[0].allowed
    _, allowed = window_changes(found, frozenset({key("raw/a.csv", "b")}), True,
                                Overrides(allow_window_rewrite=frozenset({"w"})))
    assert allowed == [Check("window-annotated", "w", checks[0].message, "--allow-window-rewrite w", blocking=True,
                             allowed=True)]


def test_without_prune_a_vanished_objects_windows_are_kept_with_a_warning() -> None:
    steps, checks = window_changes(staged((PRESENT,), EXISTING), None, False, NONE)
    assert checks == [Check("windows-vanished", "w", "the windows of 1 object(s) no longer in the source are kept, "
                            "e.g. raw/b.csv; --prune deletes them", None, blocking=False)]
    (step,) = steps
    assert [o.key for o in step.objects] == ["raw/a.csv"]  # nothing of raw/b.csv is deleted


def test_prune_keeps_a_vanished_objects_windows_that_carry_work_with_a_warning() -> None:
    steps, checks = window_changes(staged((PRESENT,), EXISTING), frozenset({key("raw/b.csv", "x")}), True, NONE)
    assert checks == [Check("windows-vanished", "w", "1 window(s) of raw/b.csv, gone from the source, carry "
                            "annotations or drafts: kept (never pruned)", None, blocking=False)]
    (step,) = steps
    assert [o.key for o in step.objects] == ["raw/a.csv"]


def test_prune_deletes_every_file_of_a_vanished_object_without_work_in_the_step_of_its_project() -> None:
    steps, checks = window_changes(staged((), {k: v for k, v in EXISTING.items() if "raw/b.csv" in k}), None, True,
                                   NONE)
    assert checks == []  # no "data" check: the folder still holds files, so the storage's prefix is not empty
    assert steps == [WriteWindows("local", "w", "data", FOLDER, (
        ObjectWrite("raw/b.csv", "", 0, (), (), (manifest_key(FOLDER, "raw/b.csv"), key("raw/b.csv", "x")), ""),),
        "{}")]


def test_a_source_without_objects_or_files_is_the_blocking_data_check() -> None:
    steps, checks = window_changes(staged((), {}), None, False, NONE)
    assert steps == []
    assert checks == [Check("data", "w", "no object of the source matches its pattern: there is nothing to write "
                            "windows from (Label Studio refuses a storage on an empty prefix)", None, blocking=True)]


def test_an_object_not_current_rewrites_its_manifest_even_when_every_window_matches() -> None:
    found = staged((obj("raw/a.csv", ("a",)),), {key("raw/a.csv", "a"): "md5-a"})
    (step,), _ = window_changes(found, None, False, NONE)
    (write,) = step.objects
    assert (write.key, write.write, write.delete, write.rewritten) == ("raw/a.csv", (), (), 0)
    assert json.loads(write.manifest)["source"] == {"key": "raw/a.csv", "etag": "etag-raw/a.csv", "size": 1}


def test_a_current_object_still_deletes_a_stray_file_of_its_folder() -> None:
    stray = key("raw/a.csv", "stray")
    found = staged((obj("raw/a.csv", ("a",), current=True),), {key("raw/a.csv", "a"): "md5-a", stray: "s"})
    (step,), _ = window_changes(found, None, False, NONE)
    assert [(o.key, o.write, o.delete) for o in step.objects] == [("raw/a.csv", (), (stray,))]
    assert at_risk(found, False) == {stray}


def test_at_risk_takes_every_objects_rewrites_and_with_prune_the_vanished_windows_but_no_manifest() -> None:
    found = staged((PRESENT, obj("raw/c.csv", ("c",))),
                   {**EXISTING, key("raw/c.csv", "c"): "old", manifest_key(FOLDER, "raw/c.csv"): "m"})
    assert at_risk(found, False) == {key("raw/a.csv", "b"), key("raw/c.csv", "c")}
    assert at_risk(found, True) == {key("raw/a.csv", "b"), key("raw/c.csv", "c"), key("raw/b.csv", "x")}


def test_all_window_changes_gathers_the_steps_and_checks_of_every_staged_source() -> None:
    other = ".lsts-sync/windows/default/v/"
    sources = {("local", "w"): staged((PRESENT,), EXISTING),
               ("local", "v"): staged((obj("raw/a.csv", ("a",)),), {}, project="v", folder=other)}
    steps, checks = all_window_changes(sources, {("local", "w"): frozenset({key("raw/a.csv", "b")})}, False, NONE)
    assert [s.project for s in steps] == ["v", "w"]  # by (instance, project)
    assert [(c.name, c.subject) for c in checks] == [("window-annotated", "w"), ("windows-vanished", "w")]
    _, checks = all_window_changes({("local", "v"): staged((), {}, project="v", folder=other),
                                    ("local", "w"): staged((PRESENT,), EXISTING)}, {}, False, NONE)
    assert [(c.name, c.subject) for c in checks] == [("data", "v"), ("windows-vanished", "w")]


def hourly(time_format: str | None = FMT) -> WindowFacts:
    """Three windows of raw/a.csv, one a minute: window h holds the rows from h:00 to h+1:09."""
    windows = tuple(WindowFile(f"20260101T0{h}0000Z", "m", 70, BASE + h * HOUR, BASE + h * HOUR + 69 * 60_000)
                    for h in range(3))
    return WindowFacts("local", "w", "data", FOLDER, "fp", (ObjectWindows("raw/a.csv", "e", 1, windows),), (),
                       time_format=time_format)


def place(facts: WindowFacts, *regions: tuple[str, dict]) -> dict[str, list[dict]]:
    """The values of the regions placed on each window (by window name) of predictions ``regions``
    (``(source key, region)``)."""
    tasks = tuple(TaskPrediction(k, canonical_result([r]), 0.5, (2,)) for k, r in sorted(regions, key=lambda x: x[0]))
    placed = predictions_on_windows(PredictionSet("local", "w", "det", "v1", "p.csv", tasks), facts)
    return {t.key.rsplit("/", 1)[-1].removesuffix(".csv"): [r["value"] for r in json.loads(t.result)]
            for t in placed.tasks}


def test_a_region_touching_a_windows_first_or_last_row_is_an_instant_on_it() -> None:
    ends_at_first = region("raw/a.csv", "2026-01-01 00:50:00", "2026-01-01 01:00:00", "Anomaly", 0.5)
    assert place(hourly(), ("raw/a.csv", ends_at_first)) == {
        "20260101T000000Z": [{"start": "2026-01-01 00:50:00", "end": "2026-01-01 01:00:00", "instant": False,
                              "timeserieslabels": ["Anomaly"]}],
        "20260101T010000Z": [{"start": "2026-01-01 01:00:00", "end": "2026-01-01 01:00:00", "instant": True,
                              "timeserieslabels": ["Anomaly"]}]}
    starts_at_last = region("raw/a.csv", "2026-01-01 01:09:00", "2026-01-01 01:20:00", "Anomaly", 0.5)
    assert place(hourly(), ("raw/a.csv", starts_at_last)) == {
        "20260101T000000Z": [{"start": "2026-01-01 01:09:00", "end": "2026-01-01 01:09:00", "instant": True,
                              "timeserieslabels": ["Anomaly"]}],
        "20260101T010000Z": [{"start": "2026-01-01 01:09:00", "end": "2026-01-01 01:20:00", "instant": False,
                              "timeserieslabels": ["Anomaly"]}]}


def test_a_region_whose_bound_does_not_read_in_the_time_format_lies_on_no_window() -> None:
    unreadable = region("raw/a.csv", "2026-01-01 00:50:00", "01/01/2026 01:20", "Anomaly", 0.5)
    assert place(hourly(), ("raw/a.csv", unreadable)) == {}
    unreadable = region("raw/a.csv", "01/01/2026 00:50", "2026-01-01 01:20:00", "Anomaly", 0.5)
    assert place(hourly(), ("raw/a.csv", unreadable)) == {}


def test_on_a_numeric_time_axis_clipped_bounds_are_numbers_written_as_the_predictions_file_writes_them() -> None:
    """No time format: bounds are the axis' numbers; a clipped bound is an int when whole (as
    ``labels.predictions.written`` writes one), else the float itself."""
    windows = (WindowFile("rows-000000000000", "m", 60, 0.0, 59.5),
               WindowFile("rows-000000000055", "m", 60, 55.0, 114.0))
    facts = WindowFacts("local", "w", "data", FOLDER, "fp", (ObjectWindows("raw/a.csv", "e", 1, windows),), ())
    predicted = region("raw/a.csv", 50, 70, "Anomaly", 0.5)
    tasks = predictions_on_windows(PredictionSet("local", "w", "det", "v1", "p.csv",
                                                 (TaskPrediction("raw/a.csv", canonical_result([predicted])),)), facts)
    on = {t.key: t.result for t in tasks.tasks}
    assert on == {
        key("raw/a.csv", "rows-000000000000"): canonical_result([{**predicted, "value": {**predicted["value"],
                                                                                        "end": 59.5}}]),
        key("raw/a.csv", "rows-000000000055"): canonical_result([{**predicted, "value": {**predicted["value"],
                                                                                        "start": 55}}])}
    assert '"start":55,' in on[key("raw/a.csv", "rows-000000000055")]  # an int, not 55.0


def test_a_prediction_for_an_object_without_windows_does_not_stop_the_ones_after_it() -> None:
    gone = region("raw/0gone.csv", "2026-01-01 00:10:00", "2026-01-01 00:20:00", "Anomaly", 0.5)
    inside = region("raw/a.csv", "2026-01-01 00:10:00", "2026-01-01 00:20:00", "Anomaly", 0.5)
    assert sorted(place(hourly(), ("raw/0gone.csv", gone), ("raw/a.csv", inside))) == ["0gone", "20260101T000000Z"]
