"""lsts-sync report in-process on the fakes (pipeline.report and the command): what it reads, in
which order, what it prints in each format, and what it refuses."""

from __future__ import annotations

import builtins
import json
from pathlib import Path

import pytest

from lsts_sync.live.connections import Connections
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.state import ProjectState

from .fakes import FakeLabelStudio, FakeS3
from .test_cli_commands import run
from .test_report import CSV, annotation, region, t, task

SPECS = """\
kind: Instance
name: local
url: http://ls.example:8080
token: ${LABEL_STUDIO_API_KEY}
---
kind: Bucket
name: data
---
kind: Project
name: pump
instance: local
source: {bucket: data, prefix: a/}
timeseries: {time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{column: v}]}
labels: [{value: Anomaly}, {value: Maintenance}]
---
kind: Project
name: fan
instance: local
source: {bucket: data, prefix: f/}
timeseries: {time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{column: v}]}
labels: [{value: Anomaly}]
---
kind: Predictions
name: detector-1
project: pump
model_version: v1
file: v1.csv
---
kind: Predictions
name: detector-2
project: pump
model_version: v2
file: v2.csv
"""
V1 = f"file,start,end,label\na/1.csv,{t(2)},{t(4)},Anomaly\na/2.csv,{t(6)},{t(6)},Maintenance\nx.csv,junk,{t(1)},Anomaly\n"
V2 = f"file,start,end,label\na/1.csv,{t(0)},{t(9)},Anomaly\n"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, FakeLabelStudio, FakeS3]:
    """Projects pump (3 tasks: two labeled, one by two annotators, one not yet) and fan (none),
    two model versions of pump, and the fakes every command's Connections.open returns."""
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "specs.yaml").write_text(SPECS)
    (folder / "v1.csv").write_text(V1)
    (folder / "v2.csv").write_text(V2)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "f" * 40)
    ls, s3 = FakeLabelStudio(), FakeS3()
    for name, pid in (("pump", 5), ("fan", 6)):
        ls.add_project(ProjectState("local", name, name, "", "", id=pid), Marker("default", name))
    ls.exported[5] = [
        task(1, "a/1.csv", annotation(10, 1, "2024-02-01T00:00:00Z", region(t(2), t(3), "Anomaly")),
             annotation(11, 2, "2024-02-02T00:00:00Z", region(t(2), t(4), "Anomaly"))),
        task(2, "a/2.csv", annotation(20, 1, "2024-02-01T00:00:00Z", region(t(6), t(6), "Maintenance"))),
        task(3, "a/3.csv")]
    ls.users_ = {1: "ann@example.com", 2: "bob@example.com"}
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "a/2.csv": (1.0, CSV)}
    monkeypatch.setattr(Connections, "open", classmethod(lambda cls, specs, parallelism=1: cls({"local": ls}, s3)))
    return folder, ls, s3


def test_json_of_every_project_after_one_snapshot_of_all_tasks_each(world, capsys) -> None:
    specs, ls, s3 = world
    code, out, err = run(capsys, "report", str(specs), "--json")
    assert code == 0, err
    assert ls.calls == ["read_projects", "users", "export_tasks 6 all", "export_tasks 5 all"]
    assert sorted(k for k in s3.calls if k.startswith("read_bytes")) == ["read_bytes data a/1.csv",
                                                                         "read_bytes data a/2.csv"]
    document = json.loads(out)
    assert list(document["projects"]) == ["fan", "pump"]
    pump = document["projects"]["pump"]
    assert (pump["tasks"], pump["annotated"], pump["cancelled"]) == (3, 2, 0)
    assert pump["annotators"] == {"ann@example.com": 2, "bob@example.com": 1}
    assert pump["labels"] == {"Anomaly": 1, "Maintenance": 1}
    v1, v2 = pump["models"]["v1"], pump["models"]["v2"]
    assert v1["all"]["event"] == {"tp": 2, "fp": 0, "fn": 0, "precision": 1.0, "recall": 1.0, "f1": 1.0}
    # v2 predicts the whole of a/1.csv: IoU 3/10 with the label, no match
    assert v2["Anomaly"]["event"] == {"tp": 0, "fp": 1, "fn": 1, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert v2["Anomaly"]["rows"]["precision"] == pytest.approx(0.3) and v2["Maintenance"]["range"]["precision"] is None
    assert v2["all"]["event"] == {"tp": 0, "fp": 1, "fn": 2, "precision": 0.0, "recall": 0.0, "f1": 0.0}
    # task 1: ann 2-3 against bob 2-4 (IoU 2/3); alpha over its 10 rows, {} 15 times, {Anomaly} 5, one unit apart
    assert pump["agreement"] == {"tasks": 1, "pairs": 1, "event_f1": 1.0, "alpha": pytest.approx(1 - 19 * 2 / 150)}
    assert document["projects"]["fan"] == {"tasks": 0, "annotated": 0, "cancelled": 0, "annotators": {}, "labels": {},
                                           "models": {}, "agreement": {"tasks": 0, "pairs": 0, "event_f1": None,
                                                                       "alpha": None}}
    assert "Warning: Predictions detector-1: 1 row(s) of" in err


def test_iou_decides_what_matches(world, capsys) -> None:
    specs, _, _ = world
    code, out, _ = run(capsys, "report", str(specs), "--project", "pump", "--json", "--iou", "0.6")
    assert code == 0
    pump = json.loads(out)["projects"]["pump"]
    assert list(json.loads(out)["projects"]) == ["pump"]
    assert pump["agreement"]["event_f1"] == 1.0  # ann 2-3 against bob 2-4: IoU 2/3 matches at 0.6
    code, out, _ = run(capsys, "report", str(specs), "--project", "pump", "--json", "--iou", "0.7")
    assert json.loads(out)["projects"]["pump"]["agreement"]["event_f1"] == 0.0


def test_text_by_default_and_markdown_on_request(world, capsys) -> None:
    specs, _, _ = world
    code, out, _ = run(capsys, "report", str(specs), "--project", "pump")
    assert code == 0 and out.startswith("Project pump: 3 task(s), 2 annotated, 0 cancelled annotation(s)\n")
    code, out, _ = run(capsys, "report", str(specs), "--project", "pump", "--markdown")
    assert code == 0 and out.startswith("### pump\n") and "| v2 | all |" in out


def test_refusals_are_one_line(world, capsys) -> None:
    specs, ls, _ = world
    code, _, err = run(capsys, "report", str(specs), "--json", "--markdown")
    assert code == 2 and "--json and --markdown exclude each other" in err
    code, _, err = run(capsys, "report", str(specs), "--project", "nope")
    assert code == 1 and "--project names no Project spec: nope" in err
    code, _, err = run(capsys, "report", str(specs), "--iou", "0")
    assert code == 2
    del ls.projects[5]
    code, _, err = run(capsys, "report", str(specs), "--project", "pump")
    assert code == 1 and err.strip().endswith("report: project pump does not exist in instance local yet (run lsts-sync apply)")


def test_plots_without_matplotlib_is_one_line_before_anything_is_read(world, capsys, monkeypatch, tmp_path) -> None:
    specs, ls, _ = world
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    code, _, err = run(capsys, "report", str(specs), "--plots", str(tmp_path / "plots"))
    assert code == 1 and err.strip() == "Error: --plots needs matplotlib: pip install 'lsts-sync[plots]'"
    assert ls.calls == [] and not (tmp_path / "plots").exists()


def test_plots_write_a_picture_per_labeled_object_and_per_project(world, capsys, tmp_path) -> None:
    pytest.importorskip("matplotlib", reason="the plots extra")
    specs, _, _ = world
    code, _, err = run(capsys, "report", str(specs), "--project", "pump", "--plots", str(tmp_path / "plots"))
    assert code == 0, err
    written = sorted(p.relative_to(tmp_path / "plots").as_posix() for p in (tmp_path / "plots").rglob("*.png"))
    assert written == ["pump.png", "pump/a__1.csv.png", "pump/a__2.csv.png"]
    assert all((tmp_path / "plots" / p).read_bytes().startswith(b"\x89PNG") for p in written)
    assert f"Wrote {tmp_path / 'plots' / 'pump.png'}" in err
