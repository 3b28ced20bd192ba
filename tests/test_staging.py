"""Staged sources on the fakes, through gather, build_plan and apply: the plan's windows step, its
currency (a second plan is empty), appended data, the guard on annotated windows, --prune of the
windows of a vanished object, and the pure comparison of ``plan.windows``."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.desired.build import desired_state
from lsts_sync.live.connections import Connections
from lsts_sync.live.gather import gather
from lsts_sync.plan.build import build_plan
from lsts_sync.plan.changes import WriteWindows
from lsts_sync.plan.options import GatherOptions, Overrides
from lsts_sync.plan.windows import at_risk, window_changes
from lsts_sync.resources.facts import TaskFile
from lsts_sync.resources.windows import ObjectWindows, WindowFacts, WindowFile, split_window_key, window_key

from .fakes import FakeLabelStudio, FakeS3, load_checked, run_apply

SPECS = """\
kind: Instance
name: local
url: http://ls.example:8080
token: 0123456789abcdef0123456789abcdef01234567
---
kind: Bucket
name: data
---
kind: Project
name: w
instance: local
source: {bucket: data, prefix: raw/, pattern: '.*\\.csv', window: {duration: 1h, overlap: 5m}}
timeseries: {time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{column: v}]}
labels: [{value: Anomaly}]
"""
FOLDER = ".lsts-sync/windows/default/w/"


def csv(hours: int, change_row: int | None = None) -> bytes:
    lines = [f"2026-01-01 {m // 60:02d}:{m % 60:02d}:00,{999 if m == change_row else m}" for m in range(hours * 60)]
    return ("t,v\n" + "\n".join(lines) + "\n").encode()


@pytest.fixture
def setup(tmp_path: Path):
    (tmp_path / "specs.yaml").write_text(SPECS)
    specs = load_checked([tmp_path / "specs.yaml"])
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"raw/a.csv": (1.0, csv(3))}
    return specs, ls, s3, Connections({"local": ls}, s3)


NONE = Overrides()


def plan_of(specs, conn, prune: bool = False, overrides: Overrides = NONE):
    desired = desired_state(specs)
    return build_plan(desired, gather(specs, desired, conn, GatherOptions(prune=prune)), prune=prune,
                      overrides=overrides)


def windows_step(plan) -> WriteWindows:
    return next(c for c in plan.changes if isinstance(c, WriteWindows))


def test_first_plan_writes_every_window_then_a_second_plan_is_empty(setup) -> None:
    specs, ls, s3, conn = setup
    plan = plan_of(specs, conn)
    step = windows_step(plan)
    assert step.text_lines()[0] == "  + windows w: 3 file(s) from 1 object(s)"
    kinds = [getattr(c, "action", "") + ":" + getattr(getattr(c, "resource", None), "kind", "") for c in plan.changes]
    assert kinds.index("windows:") < kinds.index("create:storage")  # before the storage that reads them
    storage = next(c.new for c in plan.changes if getattr(c, "action", "") == "create" and c.new.kind == "storage")
    assert storage.prefix == FOLDER and storage.recursive_scan
    run_apply(plan, ls, s3)
    written = sorted(k for k in s3.objects_["data"] if k.startswith(FOLDER))
    assert written == [f"{FOLDER}raw/a.csv/20260101T{h:02d}0000Z.csv" for h in range(3)] + [f"{FOLDER}raw/a.csv/manifest.json"]
    s3.calls.clear()
    again = plan_of(specs, conn)
    assert not [c for c in again.changes if isinstance(c, WriteWindows)]
    assert not any(c.startswith("open_object") for c in s3.calls)  # current: the object is not read


def test_appended_data_writes_new_windows_and_the_last_old_one(setup) -> None:
    specs, ls, s3, conn = setup
    run_apply(plan_of(specs, conn), ls, s3)
    s3.objects_["data"]["raw/a.csv"] = (2.0, csv(5))
    step = windows_step(plan_of(specs, conn))
    (obj,) = step.objects
    assert obj.write == ("20260101T020000Z", "20260101T030000Z", "20260101T040000Z") and obj.rewritten == 1
    assert step.text_lines()[0] == "  + windows w: 3 file(s) from 1 object(s) (1 rewritten)"


def test_only_windows_whose_file_exists_are_hashed_and_the_manifest_takes_the_puts_etags(setup) -> None:
    specs, ls, s3, conn = setup
    (obj,) = windows_step(plan_of(specs, conn)).objects
    assert obj.md5s == ("", "", "")  # new windows: nothing to compare with, so not hashed
    run_apply(plan_of(specs, conn), ls, s3)
    manifest = json.loads(s3.objects_["data"][f"{FOLDER}raw/a.csv/manifest.json"][1])
    assert {name: w["md5"] for name, w in manifest["windows"].items()} == {
        name: hashlib.md5(s3.objects_["data"][f"{FOLDER}raw/a.csv/{name}.csv"][1]).hexdigest()
        for name in ("20260101T000000Z", "20260101T010000Z", "20260101T020000Z")}
    s3.objects_["data"]["raw/a.csv"] = (2.0, csv(5))
    (obj,) = windows_step(plan_of(specs, conn)).objects
    last_old = hashlib.md5(next(d for w, d in cut_csv(specs.projects["w"], csv(5)) if w == "20260101T020000Z")
                           ).hexdigest()
    assert obj.md5s == (last_old, "", "")  # the last old window is compared with its file; the new ones are not


def cut_csv(project, data: bytes) -> list[tuple[str, bytes]]:
    """``(window name, bytes)`` of ``project``'s windows of ``data``."""
    from lsts_sync.data.windows import ObjectReader, cut

    reader = ObjectReader(lambda: io.BytesIO(data), lambda start, length: data[start:start + length], len(data))
    return [(w.name, d) for w, d in cut(project, reader, "raw/a.csv", "s3://data/raw/a.csv")]


def test_an_annotated_window_that_would_change_blocks_until_allowed(setup) -> None:
    specs, ls, s3, conn = setup
    run_apply(plan_of(specs, conn), ls, s3)
    ls.annotated[next(iter(ls.projects))] = {f"{FOLDER}raw/a.csv/20260101T000000Z.csv"}
    s3.objects_["data"]["raw/a.csv"] = (2.0, csv(3, change_row=10))
    blocked = plan_of(specs, conn)
    (check,) = [c for c in blocked.blockers]
    assert check.name == "window-annotated" and check.override == "--allow-window-rewrite w"
    assert "annotated_files w" in ls.calls
    allowed = plan_of(specs, conn, overrides=Overrides(allow_window_rewrite=frozenset({"w"})))
    assert not allowed.blockers


def test_nothing_at_risk_reads_no_annotations(setup) -> None:
    specs, ls, s3, conn = setup
    run_apply(plan_of(specs, conn), ls, s3)
    s3.objects_["data"]["raw/a.csv"] = (2.0, csv(5))  # appended: the 02:00 window is rewritten, so read
    plan_of(specs, conn)
    assert "annotated_files w" in ls.calls
    ls.calls.clear()
    s3.objects_["data"]["raw/b.csv"] = (2.0, csv(1))  # a new object only: nothing existing changes
    run_apply(plan_of(specs, conn), ls, s3)
    ls.calls.clear()
    s3.objects_["data"]["raw/c.csv"] = (2.0, csv(1))
    plan_of(specs, conn)
    assert "annotated_files w" not in ls.calls


def test_a_vanished_object_keeps_its_windows_unless_pruned_and_never_when_annotated(setup) -> None:
    specs, ls, s3, conn = setup
    s3.objects_["data"]["raw/b.csv"] = (1.0, csv(1))
    run_apply(plan_of(specs, conn), ls, s3)
    del s3.objects_["data"]["raw/b.csv"]
    kept = plan_of(specs, conn)
    assert not [c for c in kept.changes if isinstance(c, WriteWindows)]
    assert any(c.name == "windows-vanished" and not c.blocking for c in kept.checks)
    ls.annotated[next(iter(ls.projects))] = {f"{FOLDER}raw/b.csv/20260101T000000Z.csv"}
    annotated = plan_of(specs, conn, prune=True)
    assert not [c for c in annotated.changes if isinstance(c, WriteWindows)]
    assert any("never pruned" in c.message for c in annotated.checks)
    ls.annotated[next(iter(ls.projects))] = set()
    pruned = plan_of(specs, conn, prune=True)
    (obj,) = windows_step(pruned).objects
    assert obj.key == "raw/b.csv" and obj.delete == (f"{FOLDER}raw/b.csv/20260101T000000Z.csv",
                                                     f"{FOLDER}raw/b.csv/manifest.json")
    run_apply(pruned, ls, s3)
    assert not [k for k in s3.objects_["data"] if k.startswith(f"{FOLDER}raw/b.csv/")]


def test_apply_refuses_an_object_that_changed_after_the_plan(setup) -> None:
    specs, ls, s3, conn = setup
    plan = plan_of(specs, conn)
    s3.objects_["data"]["raw/a.csv"] = (2.0, csv(4))
    with pytest.raises(LstsError, match="changed since it was planned"):
        run_apply(plan, ls, s3)
    assert not [k for k in s3.objects_["data"] if k.startswith(FOLDER)]


def test_apply_refuses_a_window_whose_bytes_differ_from_the_plan(setup) -> None:
    import dataclasses

    specs, ls, s3, conn = setup
    plan = plan_of(specs, conn)
    step = windows_step(plan)
    wrong = dataclasses.replace(step, objects=tuple(dataclasses.replace(o, md5s=("0" * 32,) * len(o.md5s))
                                                    for o in step.objects))
    plan = dataclasses.replace(plan, changes=tuple(wrong if c is step else c for c in plan.changes))
    with pytest.raises(LstsError, match="differs from the plan"):
        run_apply(plan, ls, s3)
    assert not [k for k in s3.objects_["data"] if k.startswith(FOLDER)]


def facts(windows: tuple[str, ...], existing: dict[str, str], current: bool = False) -> WindowFacts:
    files = tuple(WindowFile(n, f"md5-{n}", 1, 0.0, 0.0) for n in windows)
    return WindowFacts("local", "w", "data", FOLDER, "fp", (ObjectWindows("raw/a.csv", "e", 1, files, current),),
                       tuple(sorted(existing.items())))


def test_the_comparison_new_rewritten_deleted_and_at_risk() -> None:
    key = lambda n: window_key(FOLDER, "raw/a.csv", n)  # noqa: E731
    found = facts(("a", "b", "c"), {key("a"): "md5-a", key("b"): "old", key("z"): "md5-z"})
    (step,), checks = window_changes(found, None, False, Overrides())
    (obj,) = step.objects
    assert (obj.write, obj.rewritten, obj.delete) == (("b", "c"), 1, (key("z"),))
    assert at_risk(found, False) == {key("b"), key("z")}
    assert checks == []
    _, checks = window_changes(found, frozenset({key("z")}), False, Overrides())
    assert [c.name for c in checks] == ["window-annotated"] and checks[0].blocking and not checks[0].allowed


def test_current_windows_give_no_step() -> None:
    key = lambda n: window_key(FOLDER, "raw/a.csv", n)  # noqa: E731
    steps, _ = window_changes(facts(("a",), {key("a"): "md5-a"}, current=True), None, False, Overrides())
    assert steps == []


def test_window_keys_name_the_original_object_and_map_back() -> None:
    key = window_key(FOLDER, "raw/deep/a.csv", "20260101T000000Z")
    assert key == f"{FOLDER}raw/deep/a.csv/20260101T000000Z.csv"
    assert split_window_key(FOLDER, key) == ("raw/deep/a.csv", "20260101T000000Z")
    assert split_window_key(FOLDER, f"{FOLDER}raw/a.csv/manifest.json") is None
    assert split_window_key(".lsts-sync/windows/default/other/", key) is None


def test_tasks_are_no_input_to_the_windows(setup) -> None:
    """The windows step depends on S3 alone: tasks of the project (imported windows) change nothing."""
    specs, ls, s3, conn = setup
    run_apply(plan_of(specs, conn), ls, s3)
    ls.tasks[next(iter(ls.projects))] = [TaskFile(f"{FOLDER}raw/a.csv/20260101T000000Z.csv", 3.0, 7)]
    assert not [c for c in plan_of(specs, conn).changes if isinstance(c, WriteWindows)]


def test_a_predicted_region_is_placed_on_every_window_it_overlaps_clipped_to_it() -> None:
    from lsts_sync.labels.predictions import region
    from lsts_sync.plan.windows import predictions_on_windows
    from lsts_sync.resources.state import PredictionSet, TaskPrediction, canonical_result

    hour = 3_600_000.0
    base = 1767225600000.0  # 2026-01-01 00:00:00 UTC
    windows = tuple(WindowFile(f"20260101T0{h}0000Z", "m", 70, base + h * hour, base + h * hour + 69 * 60_000)
                    for h in range(3))
    found = WindowFacts("local", "w", "data", FOLDER, "fp", (ObjectWindows("raw/a.csv", "e", 1, windows),), (),
                        time_format="%Y-%m-%d %H:%M:%S")
    predicted = region("raw/a.csv", "2026-01-01 00:50:00", "2026-01-01 01:20:00", "Anomaly", 0.9)
    want = PredictionSet("local", "w", "det", "v1", "p.csv",
                         (TaskPrediction("raw/a.csv", canonical_result([predicted]), 0.9, (2,)),
                          TaskPrediction("raw/gone.csv", "[]", None, (3,))))
    placed = predictions_on_windows(want, found)
    assert [t.key for t in placed.tasks] == [window_key(FOLDER, "raw/a.csv", "20260101T000000Z"),
                                             window_key(FOLDER, "raw/a.csv", "20260101T010000Z"), "raw/gone.csv"]
    import json

    first, second = (json.loads(t.result)[0]["value"] for t in placed.tasks[:2])
    assert (first["start"], first["end"]) == ("2026-01-01 00:50:00", "2026-01-01 01:09:00")  # the window's last row
    assert (second["start"], second["end"]) == ("2026-01-01 01:00:00", "2026-01-01 01:20:00")
    assert placed.tasks[0].score == 0.9 and placed.tasks[0].rows == (2,)


def test_a_predicted_regions_field_result_is_clipped_with_it_on_every_window() -> None:
    """A region field's result carries its region's bounds (as the labeling UI writes it): each
    window gets it with the region's own clipped bounds and id, and none where the region is not."""
    import json

    from lsts_sync.labels.predictions import region
    from lsts_sync.plan.windows import predictions_on_windows
    from lsts_sync.resources.state import PredictionSet, TaskPrediction, canonical_result

    hour = 3_600_000.0
    base = 1767225600000.0  # 2026-01-01 00:00:00 UTC
    windows = tuple(WindowFile(f"20260101T0{h}0000Z", "m", 70, base + h * hour, base + h * hour + 69 * 60_000)
                    for h in range(3))
    found = WindowFacts("local", "w", "data", FOLDER, "fp", (ObjectWindows("raw/a.csv", "e", 1, windows),), (),
                        time_format="%Y-%m-%d %H:%M:%S")
    predicted = region("raw/a.csv", "2026-01-01 00:50:00", "2026-01-01 01:20:00", "Anomaly", 0.9)
    severity = {**predicted, "from_name": "severity", "type": "choices",
                "value": {**{k: predicted["value"][k] for k in ("start", "end", "instant")}, "choices": ["high"]}}
    del severity["score"]
    want = PredictionSet("local", "w", "det", "v1", "p.csv",
                         (TaskPrediction("raw/a.csv", canonical_result([predicted, severity]), 0.9, (2,)),))
    placed = predictions_on_windows(want, found)
    assert len(placed.tasks) == 2
    for task in placed.tasks:
        label, field = sorted(json.loads(task.result), key=lambda r: r["type"] == "choices")
        assert field["id"] == label["id"] == predicted["id"] and field["value"]["choices"] == ["high"]
        assert {k: field["value"][k] for k in ("start", "end", "instant")} == \
            {k: label["value"][k] for k in ("start", "end", "instant")}


def test_channels_auto_and_check_read_a_parquet_source(tmp_path: Path) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from lsts_sync.data.scan import check_project
    from lsts_sync.data.sources import resolve_channels

    (tmp_path / "specs.yaml").write_text(SPECS.replace("'.*\\.csv'", "'.*\\.parquet'").replace(
        "[{column: v}]", "auto"))
    specs = load_checked([tmp_path / "specs.yaml"])
    out = io.BytesIO()
    pq.write_table(pa.table({"t": pa.array([0, 60_000], pa.timestamp("ms")), "Flow": [1.0, 2.0], "v": [3, 4]}), out)
    s3 = FakeS3()
    s3.objects_["data"] = {"raw/a.parquet": (1.0, out.getvalue()), f"{FOLDER}raw/a.parquet/x.parquet": (1.0, b"")}
    resolved = resolve_channels(specs, s3).projects["w"]
    assert [c.column for c in resolved.timeseries.channel_list] == ["flow", "v"]
    result = check_project(resolved, s3, parallelism=1)
    assert (result.objects, result.findings) == (1, ())  # the staging folder is not checked


def test_a_plan_with_windows_saves_and_reads_back_whole(setup, tmp_path: Path) -> None:
    from lsts_sync.plan.saved import SavedPlan, digest, fingerprint, read, write

    specs, ls, s3, conn = setup
    desired = desired_state(specs)
    facts = gather(specs, desired, conn, GatherOptions())
    plan = build_plan(desired, facts)
    saved = SavedPlan(plan, digest(desired), fingerprint(facts, desired), GatherOptions(), Overrides())
    write(str(tmp_path / "plan.json"), saved)
    again = read(str(tmp_path / "plan.json"))
    assert again.plan == plan and windows_step(again.plan).objects
    run_apply(again.plan, ls, s3)
    assert fingerprint(gather(specs, desired, conn, GatherOptions()), desired) != saved.fingerprint  # windows moved
