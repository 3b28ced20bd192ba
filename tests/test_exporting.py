"""Running Export specs against fake instances and writers: ids, downloads, ordering, partial writes."""

from __future__ import annotations

import errno
from pathlib import Path
from types import SimpleNamespace

import pytest

from lsts_sync.cli.main import main
from lsts_sync.core.errors import LstsError
from lsts_sync.labels import exports as exporting
from lsts_sync.labels.annotations import Output
from lsts_sync.labels.exports import (
    ExportFailed,
    ExportOutput,
    build_outputs,
    managed_project_ids,
    run_exports,
    select_exports,
    write_outputs,
    writer_for,
)
from lsts_sync.live.connections import Connections
from lsts_sync.resources.markers import Marker
from lsts_sync.resources.state import ProjectState
from lsts_sync.spec.loader import SpecSet, load_specs

from .fakes import FakeLabelStudio, FakeS3

SPECS = """\
kind: Instance
name: local
url: http://127.0.0.1:9
token: ${LSTS_TEST_TOKEN:-0123456789abcdef0123456789abcdef01234567}
owner: team-a
---
kind: Project
name: pump
instance: local
timeseries: {time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{column: v}]}
labels: [{value: Anomaly}]
---
kind: Export
name: a-table
project: pump
output: OUT/table.csv
---
kind: Export
name: b-lookout
project: pump
format: lookout
output: OUT/lookout.csv
---
kind: Export
name: c-all
project: pump
annotations: all
output: OUT/all.csv
"""


def region(start: str, end: str) -> dict:
    return {"type": "timeserieslabels", "value": {"start": start, "end": end, "timeserieslabels": ["Anomaly"]}}


def task(tid: int, key: str) -> dict:
    return {"id": tid, "data": {"csv": f"s3://b/{key}"}, "annotations": [
        {"id": tid * 10, "updated_at": "2024-01-01T00:00:00Z", "completed_by": 1,
         "result": [region("2021-01-01 00:00:00", "2021-01-01 00:10:00")]}]}


def annotated_instance(tasks: list[dict] | None = None) -> FakeLabelStudio:
    """Projects: ours (team-a) 7 and 5 for pump, another owner's 3, an unmanaged 2; ``tasks`` (by
    default one annotated task) in project 5 only; user 1 is ann@example.com."""
    ls = FakeLabelStudio()
    for owner, pid in (("team-a", 7), ("team-a", 5), ("team-b", 3)):
        ls.add_project(ProjectState("local", "pump", "Pump", "", "", owner, pid), Marker(owner, "pump"))
    ls.projects[2] = (None, ProjectState("local", "", "Pump", "", "", "", 2))
    ls.exported[5] = [task(1, "d/a.csv")] if tasks is None else tasks
    ls.users_ = {1: "ann@example.com"}
    return ls


def load(tmp_path: Path, extra: str = "") -> SpecSet:
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    (folder / "specs.yaml").write_text((SPECS + extra).replace("OUT", str(tmp_path / "out")))
    specs, problems = load_specs([str(folder)], env={})
    assert [p for p in problems if p.severity == "error"] == []
    return specs


class Recorder:
    """A writer that records each write and raises ``error`` on call number ``fail_on`` (1-based)."""

    def __init__(self, fail_on: int | None = None, error: Exception | None = None):
        self.fail_on, self.locations = fail_on, []
        self.error = error if error is not None else OSError(errno.ENOSPC, "No space left on device")

    def __call__(self, location: str, data: bytes) -> None:
        if len(self.locations) + 1 == self.fail_on:
            raise self.error
        self.locations.append(location)


def test_managed_project_ids_are_the_owners_lowest() -> None:
    assert managed_project_ids(annotated_instance(), "team-a") == {"pump": 5}
    assert managed_project_ids(annotated_instance(), "team-b") == {"pump": 3}
    assert managed_project_ids(annotated_instance(), "team-c") == {}


def test_one_download_per_project_and_annotations_mode(tmp_path: Path) -> None:
    specs, fake, lines = load(tmp_path), annotated_instance(), []
    outputs = build_outputs(specs, select_exports(specs), {"local": fake}, lines.append)
    assert fake.calls == ["read_projects", "export_tasks 5", "users", "export_tasks 5"]  # latest once, all once
    assert lines == ["Downloading annotations of project pump..."] * 2
    assert [(o.export, Path(o.output.location).name, o.output.rows) for o in outputs] == [
        ("a-table", "table.csv", 1), ("b-lookout", "lookout.csv", 1), ("c-all", "all.csv", 1)]


def test_select_exports_by_name_and_unknown_names() -> None:
    specs = SpecSet(exports={n: SimpleNamespace(name=n) for n in ("b", "a")})  # type: ignore[misc]
    assert [e.name for e in select_exports(specs)] == ["a", "b"]
    assert [e.name for e in select_exports(specs, ["b"])] == ["b"]
    with pytest.raises(LstsError, match="--name names no Export spec: x, y"):
        select_exports(specs, ["y", "b", "x"])


UNBUILDABLE = {
    "project not applied": ("kind: Project\nname: fan\ninstance: local\ntimeseries: {time_column: t, channels: "
                            "[{column: v}]}\nlabels: [{value: A}]\n---\nkind: Export\nname: d-fan\nproject: fan\n"
                            "output: OUT/fan.csv\n", "export d-fan: project fan does not exist in instance local yet"),
    "split files clash": ("kind: Export\nname: d-split\nproject: pump\nsplit: '{file}'\noutput: OUT/s/all.csv\n",
                          "would write both d/a.csv and e/a.csv to "),
}


@pytest.mark.parametrize("extra, message", UNBUILDABLE.values(), ids=UNBUILDABLE.keys())
def test_nothing_is_written_unless_every_output_was_built(tmp_path: Path, extra: str, message: str) -> None:
    specs, writer = load(tmp_path, "---\n" + extra), Recorder()
    fake = annotated_instance([task(1, "d/a.csv"), task(2, "e/a.csv")])
    with pytest.raises(LstsError, match=message):
        run_exports(specs, select_exports(specs), {"local": fake}, writer, lambda line: None)
    assert writer.locations == []


@pytest.mark.parametrize("error, reason", [
    (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
    (LstsError("bucket b: no AWS credentials found"), "bucket b: no AWS credentials found"),
])
def test_a_failed_write_stops_the_run_and_says_what_was_written(tmp_path: Path, error: Exception,
                                                                 reason: str) -> None:
    specs, writer = load(tmp_path), Recorder(fail_on=2, error=error)
    with pytest.raises(ExportFailed) as caught:
        run_exports(specs, select_exports(specs), {"local": annotated_instance()}, writer, lambda line: None)
    out = tmp_path / "out"
    assert str(caught.value) == f"export b-lookout: cannot write {out}/lookout.csv: {reason}"
    assert [o.output.location for o in caught.value.written] == writer.locations == [f"{out}/table.csv"]
    assert [o.output.location for o in caught.value.not_written] == [f"{out}/lookout.csv", f"{out}/all.csv"]


def test_writer_sends_s3_urls_to_the_store_and_paths_to_files(tmp_path: Path) -> None:
    sent: list[tuple[str, bytes]] = []
    write = writer_for(SimpleNamespace(put_object=lambda url, data: sent.append((url, data))))
    write("s3://bucket/x/labels.csv", b"a\n")
    write(str(tmp_path / "labels.csv"), b"b\n")
    assert sent == [("s3://bucket/x/labels.csv", b"a\n")]
    assert (tmp_path / "labels.csv").read_bytes() == b"b\n"


def _run_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: Recorder,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    load(tmp_path)
    conn = Connections({"local": annotated_instance()}, FakeS3())
    monkeypatch.setattr(Connections, "open", classmethod(lambda cls, specs: conn))
    monkeypatch.setattr(exporting, "writer_for", lambda s3: writer)
    with pytest.raises(SystemExit) as exited:
        main(["export", str(tmp_path / "specs")])
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_export_command_prints_one_line_per_file(tmp_path, monkeypatch, capsys) -> None:
    code, out, err = _run_cli(tmp_path, monkeypatch, Recorder(), capsys)
    where = tmp_path / "out"
    assert (code, out.splitlines()) == (0, [f"a-table: wrote {where}/table.csv (1 rows)",
                                            f"b-lookout: wrote {where}/lookout.csv (1 rows)",
                                            f"c-all: wrote {where}/all.csv (1 rows)"])
    assert err.splitlines() == ["Downloading annotations of project pump..."] * 2


def test_export_command_lists_written_and_not_written_outputs(tmp_path, monkeypatch, capsys) -> None:
    code, out, err = _run_cli(tmp_path, monkeypatch, Recorder(fail_on=2), capsys)
    where = tmp_path / "out"
    assert (code, out) == (1, "")
    assert err.splitlines()[-3:] == [
        f"Written: {where}/table.csv",
        f"Not written: {where}/lookout.csv, {where}/all.csv",
        f"Error: export b-lookout: cannot write {where}/lookout.csv: No space left on device"]


DENSE = """\
---
kind: Bucket
name: raw-data
---
kind: Export
name: d-dense
project: pump
format: dense
output: OUT/dense.csv
"""


def test_a_dense_export_reads_its_source_files_through_read_before_anything_is_written(tmp_path: Path) -> None:
    specs, writer, reads = load(tmp_path, DENSE), Recorder(), []
    annotated = task(1, "d/a.csv")
    annotated["data"]["csv"] = "s3://raw-data/d/a.csv"

    def read(bucket: str, key: str) -> bytes:
        reads.append((bucket, key, list(writer.locations)))
        return b"t,v\n2021-01-01 00:00:00,1\n2021-01-01 00:10:00,2\n2021-01-01 00:20:00,3\n"

    written = run_exports(specs, select_exports(specs, ["d-dense", "a-table"]), {"local": annotated_instance([annotated])},
                          writer, lambda line: None, read=read)
    assert reads == [("raw-data", "d/a.csv", [])]  # read while building: nothing written yet
    assert [(o.export, o.output.rows) for o in written] == [("a-table", 1), ("d-dense", 3)]
    assert written[1].output.data.decode().splitlines() == [
        "file,t,v,label", "d/a.csv,2021-01-01 00:00:00,1,Anomaly", "d/a.csv,2021-01-01 00:10:00,2,Anomaly",
        "d/a.csv,2021-01-01 00:20:00,3,"]


def test_a_dense_export_without_a_reader_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    specs, writer = load(tmp_path, DENSE), Recorder()
    with pytest.raises(LstsError, match="export d-dense: dense needs the source files"):
        run_exports(specs, select_exports(specs, ["d-dense"]), {"local": annotated_instance()}, writer, lambda line: None)
    assert writer.locations == []


def test_a_file_where_a_folder_of_the_output_must_be_is_named(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder\n")
    target = tmp_path / "afile" / "sub" / "nile.csv"
    outputs = [ExportOutput("e", Output(str(target), b"x\n", 1))]
    with pytest.raises(ExportFailed) as caught:
        write_outputs(outputs, writer_for(SimpleNamespace()))
    assert str(caught.value) == (f"export e: cannot write {target}: {tmp_path / 'afile'} is a file, not a folder: name "
                                 "another output, or move that file")


def test_regions_whose_label_or_control_the_template_lacks_are_one_warning_per_label(tmp_path: Path) -> None:
    gone = dict(region("2021-01-01 00:20:00", "2021-01-01 00:30:00"), from_name="label")
    gone["value"] = dict(gone["value"], timeserieslabels=["Missing"])
    other = dict(region("2021-01-01 00:40:00", "2021-01-01 00:50:00"), from_name="old_control")
    kept = dict(region("2021-01-01 00:00:00", "2021-01-01 00:10:00"), from_name="label")
    ls = annotated_instance([{"id": 1, "data": {"csv": "s3://b/d/a.csv"}, "annotations": [
        {"id": 10, "updated_at": "2024-01-01T00:00:00Z", "result": [kept, gone, gone, other]}]}])
    template = ('<View><TimeSeriesLabels name="label" toName="ts"><Label value="Anomaly"/></TimeSeriesLabels>'
                '<TimeSeries name="ts" value="$csv"/></View>')
    ls.projects[5] = (Marker("team-a", "pump"), ProjectState("local", "pump", "Pump", "", template, "team-a", 5))
    lines: list[str] = []
    build_outputs(load(tmp_path), [load(tmp_path).exports["a-table"]], {"local": ls}, lines.append)
    warnings = [line for line in lines if line.startswith("Warning:")]
    assert warnings == [
        "Warning: project pump: 2 region(s) of the exported annotations use label 'Missing' of control 'label', which "
        "the project's template no longer has (a renamed label? see renamed_from in docs/changing-labeled-projects.md)",
        "Warning: project pump: 1 region(s) of the exported annotations use label 'Anomaly' of control "
        "'old_control', which the project's template no longer has (a renamed label? see renamed_from in "
        "docs/changing-labeled-projects.md)"]


def test_results_of_a_field_or_a_choice_the_template_lacks_are_one_warning_each(tmp_path: Path) -> None:
    """The spec renamed sev to severity and severe to high, the template has them, but results
    still say sev (an apply not run yet) or severity's old choice severe."""
    span = {"start": "2021-01-01 00:00:00", "end": "2021-01-01 00:10:00"}
    kept = dict(region(**span), from_name="label", id="r1")

    def choice(name: str, *values: str, ident: str = "r1") -> dict:
        return {"id": ident, "from_name": name, "type": "choices", "value": {**span, "choices": list(values)}}

    results = [kept, choice("sev", "severe"), choice("severity", "severe"), choice("severity", "high"),
               choice("severity", "severe", ident="r2"), {"id": "n", "from_name": "note", "type": "textarea",
                                                        "value": {"text": ["x"]}}]
    ls = annotated_instance([{"id": 1, "data": {"csv": "s3://b/d/a.csv"}, "annotations": [
        {"id": 10, "updated_at": "2024-01-01T00:00:00Z", "result": results}]}])
    template = ('<View><TimeSeriesLabels name="label" toName="ts"><Label value="Anomaly"/></TimeSeriesLabels>'
                '<TimeSeries name="ts" value="$csv"/><Choices name="severity" toName="ts" perRegion="true">'
                '<Choice value="low"/><Choice value="high"/></Choices><TextArea name="note" toName="ts"/></View>')
    ls.projects[5] = (Marker("team-a", "pump"), ProjectState("local", "pump", "Pump", "", template, "team-a", 5))
    lines: list[str] = []
    build_outputs(load(tmp_path), [load(tmp_path).exports["a-table"]], {"local": ls}, lines.append)
    assert [line for line in lines if line.startswith("Warning:")] == [
        "Warning: project pump: 1 result(s) of the exported annotations use field 'sev', which the project's template "
        "no longer has (a renamed field? see renamed_from in docs/changing-labeled-projects.md)",
        "Warning: project pump: 2 result(s) of the exported annotations use choice 'severe' of field 'severity', "
        "which the project's template no longer has (a renamed choice? see renamed_from in "
        "docs/changing-labeled-projects.md)"]
