"""The plan, apply, check and export commands in-process, on the fakes: what they print, their exit
codes and the options they refuse (the integration tests run the same commands on the real stack)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsts_sync.cli.main import main
from lsts_sync.live.connections import Connections

from .fakes import TWO_PROJECTS, FakeLabelStudio, FakeS3

CSV = b"t,v\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, FakeLabelStudio, FakeS3]:
    """Spec files of two projects, and the fakes every command's Connections.open returns."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "specs.yaml").write_text(TWO_PROJECTS.format(token="${LABEL_STUDIO_API_KEY}"))
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "f" * 40)
    ls, s3 = FakeLabelStudio(), FakeS3()
    s3.objects_["data"] = {"a/1.csv": (1.0, CSV), "b/1.csv": (1.0, CSV)}
    monkeypatch.setattr(Connections, "open", classmethod(lambda cls, specs, parallelism=1: cls({"local": ls}, s3)))
    return tmp_path / "specs", ls, s3


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    return int(done.value.code or 0), out.out, out.err


def test_plan_prints_the_plan_and_detailed_exitcode_says_there_are_changes(world, capsys) -> None:
    specs, _, _ = world
    code, out, _ = run(capsys, "plan", str(specs))
    assert code == 0 and out.startswith("lsts-sync will perform these actions:") and "+ project a" in out
    assert run(capsys, "plan", str(specs), "--detailed-exitcode")[0] == 2


def test_a_blocked_plan_exits_1_whatever_detailed_exitcode_says(world, capsys) -> None:
    specs, ls, _ = world
    from lsts_sync.resources.state import ProjectState

    ls.projects[900] = (None, ProjectState("local", "", "a", "", "<View/>", id=900))  # a title made by hand
    code, out, err = run(capsys, "plan", str(specs), "--detailed-exitcode")
    assert code == 1 and "! unmanaged-title a:" in out
    assert err.strip().endswith("Error: 1 safety check(s) block this plan")


def test_target_is_the_former_name_of_project(world, capsys) -> None:
    specs, _, _ = world
    by_project = run(capsys, "plan", str(specs), "--project", "b")
    assert by_project[0] == 0 and "+ project b" in by_project[1] and "+ project a" not in by_project[1]
    assert run(capsys, "plan", str(specs), "--target", "b")[1] == by_project[1]
    code, _, err = run(capsys, "plan", str(specs), "--project", "nope")
    assert code == 1 and "Error: --project names no Project spec: nope" in err


def test_apply_prints_the_result_and_the_urls_and_releases_its_lock(world, capsys) -> None:
    specs, ls, s3 = world
    from lsts_sync.resources.state import ProjectState

    ls.add_project(ProjectState("local", "old", "Old", "", "<View/>"))  # ours, no longer declared: no URL
    code, out, err = run(capsys, "apply", str(specs), "--auto-approve", "--stats")
    assert code == 0, err
    assert "Apply complete: 6 change(s), 2 sync(s)." in out
    ids = {p.name: pid for pid, (_, p) in ls.projects.items()}
    assert "Project old:" not in err
    assert f"Project a: http://ls.example:8080/projects/{ids['a']}/" in err
    assert f"Project b: http://ls.example:8080/projects/{ids['b']}/" in err
    assert err.strip().endswith("writes)")  # --stats: the last line
    lock = s3.clients["data"]
    assert lock.calls[0] == "put_object" and lock.objects == {}  # taken first, released at the end


def test_apply_refuses_to_ask_without_a_terminal(world, capsys) -> None:
    specs, ls, _ = world
    code, _, err = run(capsys, "apply", str(specs))
    assert code == 1 and "stdin is not a terminal: pass --auto-approve" in err and ls.projects == {}


def test_a_saved_plan_is_applied_without_a_prompt_and_refuses_plan_options(world, capsys, tmp_path) -> None:
    specs, ls, _ = world
    saved = tmp_path / "plan.json"
    assert run(capsys, "plan", str(specs), "--out", str(saved))[0] == 0
    code, _, err = run(capsys, "apply", str(specs), "--plan", str(saved), "--project", "a", "--prune")
    assert code == 1 and err.splitlines()[-1] == (f"Error: --plan {saved} carries the options it was planned with; "
                                                  "drop --project, --prune")
    code, out, err = run(capsys, "apply", str(specs), "--plan", str(saved))
    assert code == 0, err
    assert "Apply complete" in out and len(ls.projects) == 2


def test_a_failure_part_way_says_what_was_done_and_gives_the_stats(world, capsys) -> None:
    specs, ls, _ = world
    ls.failures["create_storage"] = RuntimeError("boom")
    code, _, err = run(capsys, "apply", str(specs), "--auto-approve", "--stats")
    assert code == 1
    assert "Applied 3 step(s): create bucket data CORS rule lsts-sync, create project a, create project b" in err
    assert "Not applied: create storage a/source," in err and "HTTP requests:" in err
    assert err.splitlines()[-1] == "Error: RuntimeError: boom"


def test_a_missing_bucket_is_one_line_at_its_spec(world, capsys) -> None:
    specs, ls, s3 = world
    s3.missing = lambda bucket: f"bucket {bucket} does not exist"  # type: ignore[method-assign]
    for debug in ((), ("--debug",)):
        code, _, err = run(capsys, *debug, "plan", str(specs))
        assert code == 1 and "Traceback" not in err
        assert err.splitlines()[-2:] == [f"{specs / 'specs.yaml'}:7: Bucket data: name: bucket data does not exist",
                                         "Error: 1 bucket(s) do not exist; nothing was changed"]


def test_check_and_export_take_the_project_filter(world, capsys) -> None:
    specs, _, _ = world
    code, out, err = run(capsys, "check", str(specs), "--project", "a")
    assert code == 0 and out == "" and err.splitlines()[-1].startswith("Checked 1 object(s),")
    assert run(capsys, "check", str(specs), "--project", "nope")[2].strip() == \
        "Error: --project names no Project spec: nope"
    assert run(capsys, "export", str(specs), "--project", "nope")[2].strip() == \
        "Error: --project names no Project spec: nope"


def test_plan_out_refuses_to_save_a_blocked_plan(world, capsys, tmp_path) -> None:
    specs, ls, _ = world
    from lsts_sync.resources.state import ProjectState

    ls.projects[900] = (None, ProjectState("local", "", "a", "", "<View/>", id=900))  # a title made by hand
    saved = tmp_path / "plan.json"
    code, out, err = run(capsys, "plan", str(specs), "--out", str(saved))
    assert code == 1 and "! unmanaged-title a:" in out and not saved.exists()
    assert err.splitlines()[-1] == (f"Error: not saved to {saved}: safety check(s) unmanaged-title (a) block this "
                                    "plan; resolve them or give their overrides, then plan again")


def _changed_world(world) -> tuple[Path, FakeLabelStudio, FakeS3, int]:
    """Applied specs whose object a/1.csv was overwritten after its task (id 501) was made."""
    from lsts_sync.resources.facts import TaskFile

    specs, ls, s3 = world
    with pytest.raises(SystemExit):
        main(["apply", str(specs), "--auto-approve"])
    project_a = next(pid for pid, (_, p) in ls.projects.items() if p.name == "a")
    ls.tasks[project_a] = [TaskFile("a/1.csv", 10.0, 501)]
    s3.objects_["data"]["a/1.csv"] = (100.0, CSV)  # written 90 s after its import
    return specs, ls, s3, project_a


def test_a_changed_object_says_how_to_reimport_and_reimport_clears_it(world, capsys) -> None:
    specs, ls, _, project_a = _changed_world(world)
    capsys.readouterr()
    code, out, err = run(capsys, "plan", str(specs))
    assert code == 0 and ("Warning: a: 1 object(s) changed after their import, e.g. a/1.csv: the labeling "
                          "page shows each as it is now, so regions drawn before may not fit it, and Label Studio does "
                          "not import a key again; --reimport-changed a re-imports those whose task holds no "
                          "annotation, draft or prediction") in out + err
    code, out, err = run(capsys, "plan", str(specs), "--reimport-changed", "a")
    assert code == 0 and "changed-objects" not in out + err
    assert ("  ~ reimport a (instance local): 1 task(s) of changed objects (a/1.csv) deleted, then imported again by "
            "the sync of storage a/source") in out
    assert "sync storage a/source (re-import 1 changed object(s))" in out
    ls.calls.clear()
    code, out, err = run(capsys, "apply", str(specs), "--reimport-changed", "a", "--auto-approve")
    assert code == 0, err
    source_a = next(i for i, st in ls.storages.items() if st.project == "a" and st.role == "source")
    assert [c for c in ls.calls if c.startswith(("read_worked_tasks", "delete_task", f"sync_storage {source_a}"))] == [
        f"read_worked_tasks {project_a}",  # the plan's read
        f"read_worked_tasks {project_a}", "delete_task 501", f"sync_storage {source_a}"]  # apply reads again first


def test_reimport_leaves_a_task_with_work_alone_and_says_so(world, capsys) -> None:
    specs, ls, _, project_a = _changed_world(world)
    ls.worked[project_a] = {501}
    capsys.readouterr()
    code, out, err = run(capsys, "plan", str(specs), "--reimport-changed", "a")
    assert code == 0 and "reimport a" not in out
    assert ("Warning: a: 1 changed object(s), e.g. a/1.csv, are not re-imported: their tasks hold "
            "annotations, drafts or predictions, which deleting the task would lose; check their regions against "
            "the new data") in out + err


def test_rewrite_overrides_and_the_backup_folder_reach_the_plan_and_apply(world, capsys, tmp_path) -> None:
    """--allow-draft-loss, --allow-time-format-change and --backup-dir, on a rename and a coarser
    time format of project a, whose annotation has a draft that edits it."""
    import json

    from lsts_sync.resources.state import ResultRecord, Usage

    specs, ls, _ = world
    assert run(capsys, "apply", str(specs), "--auto-approve")[0] == 0
    pid = next(pid for pid, (_, p) in ls.projects.items() if p.name == "a")
    result = json.dumps([{"from_name": "label", "to_name": "ts", "type": "timeserieslabels", "value": {
        "start": "2024-01-01 00:00:30", "end": "2024-01-01 00:01:00", "timeserieslabels": ["Anomaly"]}}])
    ls.usage[pid] = Usage(2, records=(ResultRecord("annotation", 7, 1, result), ResultRecord("draft", 8, 1, result,
                                                                                           annotation=7)))
    text = (specs / "specs.yaml").read_text()
    (specs / "specs.yaml").write_text(text.replace(
        "labels: [{value: Anomaly}]\n---\nkind: Project\nname: b",
        "labels: [{value: Incident, renamed_from: Anomaly}]\n---\nkind: Project\nname: b").replace(
        "time_format: '%Y-%m-%d %H:%M:%S', channels: [{column: v}]}\nlabels: [{value: Incident",
        "time_format: '%Y-%m-%d %H:%M', channels: [{column: v}]}\nlabels: [{value: Incident"))
    code, out, _ = run(capsys, "plan", str(specs), "--skip-data-checks")
    assert code == 1 and "! draft-loss a:" in out and "! time-format-change a: 1 region(s)" in out
    # the draft is not rewritten (Label Studio deletes it): it is not counted
    assert "~ relabel a: Anomaly → Incident (1 region(s) in 1 annotation(s), 0 draft(s), 0 prediction(s))" in out
    code, out, err = run(capsys, "apply", str(specs), "--auto-approve", "--skip-data-checks", "--allow-draft-loss",
                         "a", "--allow-time-format-change", "a", "--backup-dir", str(tmp_path / "saved"))
    assert code == 0, err
    (backup,) = (tmp_path / "saved").iterdir()
    assert f"Saved what relabel a: Anomaly → Incident and retime a rewrites to {backup}" in err
    assert json.loads(ls.rewritten[("annotation", 7)])[0]["value"] == {
        "start": "2024-01-01 00:00", "end": "2024-01-01 00:01", "timeserieslabels": ["Incident"]}
