"""Safety on a shared, busy Label Studio, through the CLI against the real stack (issue: trust).

Usage counted from the annotations and drafts themselves, owners that never touch each other,
one project per spec under concurrent applies, duplicates found, complete listings, reads that
fail closed, and tokens of both kinds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT, run_cli, upload_csvs
from .faultproxy import FaultProxy
from .test_apply_integration import apply, find_project, find_projects, write_specs
from .test_export_integration import add_exports, region

pytestmark = pytest.mark.integration


def team_specs(folder: Path, bucket: str, names: list[str], owner: str, prefix: str = "data/",
               own_prefix: bool = False) -> Path:
    """One Instance with ``owner``, one Bucket, and a source-only project per name (reading
    ``prefix``, or ``prefix/NAME/`` with ``own_prefix``)."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = [f"kind: Instance\nname: local\nurl: ${{LABEL_STUDIO_URL}}\ntoken: ${{LABEL_STUDIO_API_KEY}}\n"
            f"owner: {owner}\n", f"kind: Bucket\nname: {bucket}\nendpoint_url: ${{S3_ENDPOINT_URL}}\n"]
    for name in names:
        where = f"{prefix}{name}/" if own_prefix else prefix
        docs.append(f"kind: Project\nname: {name}\ninstance: local\nsource:\n  bucket: {bucket}\n  prefix: {where}\n"
                    "timeseries:\n  time_column: timestamp\n  time_format: '%Y-%m-%d %H:%M:%S'\n"
                    "  channels:\n    - column: vibration\nlabels:\n  - value: Anomaly\n  - value: Maintenance\n")
    (folder / "specs.yaml").write_text("---\n".join(docs))
    return folder


def api(stack, method: str, path: str, body: dict | None = None, token: str | None = None):
    """A raw Label Studio API call with the stack's legacy token (or ``token`` as a Bearer)."""
    auth = f"Bearer {token}" if token else f"Token {stack.token}"
    request = urllib.request.Request(stack.ls_url + path, method=method, headers={
        "Authorization": auth, "Content-Type": "application/json"}, data=json.dumps(body).encode() if body else None)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
    return json.loads(text) if text else None


# -- label usage from the annotations themselves ----------------------------------------------

def test_first_annotation_with_several_regions_guards_every_label(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    """Label Studio's summary keeps only the last region's label of a first annotation; we count all."""
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"u-{uid}"
    assert apply(write_specs(tmp_path / "a", bucket, name), stack_env).returncode == 0
    project = find_project(ls, name)
    (task,) = list(ls.tasks.list(project=project.id))
    ls.annotations.create(id=task.id, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Maintenance"),
                                              region("2021-01-01 00:30:00", "2021-01-01 00:40:00", "Anomaly")])
    fewer = write_specs(tmp_path / "b", bucket, name, labels=("Anomaly",))

    plan = run_cli(["plan", str(fewer)], stack_env)
    assert plan.returncode == 1, plan.stdout + plan.stderr
    assert (f"! label-removal {name}: the template change would orphan annotations or drafts: "
            f"Maintenance (label): 1 region(s) (blocks apply; allow with --allow-label-removal {name})") in plan.stdout
    assert plan.stderr.strip().splitlines()[-1] == "Error: 1 safety check(s) block this plan"
    refused = apply(fewer, stack_env)
    assert refused.returncode == 1 and "Maintenance" in ls.projects.get(id=project.id).label_config
    allowed = apply(fewer, stack_env, "--allow-label-removal", name)
    assert allowed.returncode == 0, allowed.stderr
    assert "Maintenance" not in ls.projects.get(id=project.id).label_config


def test_labels_of_several_annotations_and_a_draft_are_counted(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=3)
    name = f"u-{uid}"
    assert apply(write_specs(tmp_path / "a", bucket, name, labels=("Anomaly", "Maintenance", "Drift")),
                 stack_env).returncode == 0
    project = find_project(ls, name)
    tasks = sorted(ls.tasks.list(project=project.id), key=lambda t: t.id)
    for task in tasks[:2]:
        ls.annotations.create(id=task.id, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly"),
                                                  region("2021-01-01 00:30:00", "2021-01-01 00:40:00", "Maintenance")])
    # the third task has only a draft, with a label no annotation uses
    api(stack, "POST", f"/api/tasks/{tasks[2].id}/drafts",
        {"result": [region("2021-01-01 00:05:00", "2021-01-01 00:06:00", "Drift")], "lead_time": 1})

    plan = run_cli(["plan", str(write_specs(tmp_path / "b", bucket, name, labels=("Anomaly",)))], stack_env)
    assert plan.returncode == 1
    assert "Drift (label): 1 region(s); Maintenance (label): 2 region(s)" in plan.stdout
    kept = run_cli(["plan", str(write_specs(tmp_path / "c", bucket, name, labels=("Anomaly", "Maintenance", "Drift",
                                                                                    "Noise")))], stack_env)
    assert kept.returncode == 0 and "label-removal" not in kept.stdout


def test_an_export_that_fails_or_is_not_a_list_blocks_the_plan(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    """The usage read fails closed: a server error, an odd payload, or a snapshot that cannot be
    downloaded where the plain export is gone is one error line, never 'no annotations'."""
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"u-{uid}"
    assert apply(write_specs(tmp_path / "a", bucket, name), stack_env).returncode == 0
    fewer = write_specs(tmp_path / "b", bucket, name, labels=("Anomaly",))
    gone = 'answer 404 {"detail": "Not found."}'
    answers = {"400": {"/export": 'answer 400 {"detail": "bad"}'}, "dict": {"/export": 'answer 200 {"tasks": []}'},
               "snapshot": {"/export": gone, "/download": gone}}
    for case, faults in answers.items():
        def rule(method: str, path: str, n: int, faults=faults) -> str:
            return next((a for end, a in faults.items() if path.endswith(end)), "pass")

        with FaultProxy(stack.ls_url, rule) as proxy:
            result = run_cli(["plan", str(fewer)], dict(stack_env, LABEL_STUDIO_URL=proxy.url))
        assert result.returncode == 1, case
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        expected = {"400": "failed with HTTP 400", "dict": f"export of project {name}: unexpected answer",
                    "snapshot": "failed with HTTP 404"}[case]
        assert expected in result.stderr, result.stderr
        assert "Plan:" not in result.stdout


def test_export_of_a_non_list_payload_keeps_the_previous_file(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"u-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    add_exports(specs, name, bucket, tmp_path / "out")
    assert apply(specs, stack_env).returncode == 0
    assert run_cli(["export", str(specs)], stack_env).returncode == 0
    before = (tmp_path / "out" / "regions.csv").read_bytes()

    def rule(method: str, path: str, n: int) -> str:
        return 'answer 200 {"detail": "not a list"}' if path.endswith("/download") else "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        result = run_cli(["export", str(specs)], dict(stack_env, LABEL_STUDIO_URL=proxy.url))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (f"Error: instance local: the export of project {name} "
                                                      "is not a JSON list of tasks: expected a JSON array, found "
                                                      "'{' at character 0")
    assert (tmp_path / "out" / "regions.csv").read_bytes() == before


# -- owners -----------------------------------------------------------------------------------

def test_two_owners_share_an_instance_and_prune_only_their_own(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    team_a, team_b = f"a{uid}", f"b{uid}"
    a_specs = team_specs(tmp_path / "a", bucket, [f"a1-{uid}", f"a2-{uid}"], team_a)
    b_specs = team_specs(tmp_path / "b", bucket, [f"b1-{uid}"], team_b)
    assert apply(a_specs, stack_env).returncode == 0
    assert apply(b_specs, stack_env).returncode == 0
    rules = {r["ID"] for r in s3.get_bucket_cors(Bucket=bucket)["CORSRules"]}
    assert {f"lsts-sync-{team_a}", f"lsts-sync-{team_b}"} <= rules

    # team A drops a2 and prunes: only a2 goes; team B's project is seen, counted and left alone
    a_fewer = team_specs(tmp_path / "a2", bucket, [f"a1-{uid}"], team_a)
    plan = run_cli(["plan", str(a_fewer), "--prune"], stack_env)
    assert plan.returncode == 0, plan.stderr
    assert f"- project a2-{uid}" in plan.stdout and f"b1-{uid}" not in plan.stdout
    assert "Plan: 0 to add, 0 to change, 2 to delete." in plan.stdout
    assert f"{team_b}: 1" in plan.stderr and "managed project(s) of other owners" in plan.stderr
    assert apply(a_fewer, stack_env, "--prune").returncode == 0
    assert find_project(ls, f"a2-{uid}", team_a) is None and find_project(ls, f"b1-{uid}", team_b) is not None

    # team B prunes with an empty spec set of its own: team A's a1 stays
    b_none = team_specs(tmp_path / "b2", bucket, [], team_b)
    result = apply(b_none, stack_env, "--prune")
    assert result.returncode == 0, result.stderr
    assert find_project(ls, f"b1-{uid}", team_b) is None and find_project(ls, f"a1-{uid}", team_a) is not None


def test_a_name_managed_by_another_owner_is_a_conflict_until_taken_over(stack_env, s3, ls, bucket, uid,
                                                                         tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"c-{uid}"
    assert apply(team_specs(tmp_path / "a", bucket, [name], f"a{uid}"), stack_env).returncode == 0
    theirs = find_project(ls, name, f"a{uid}")
    ours = team_specs(tmp_path / "b", bucket, [name], f"b{uid}")
    plan = run_cli(["plan", str(ours)], stack_env)
    assert plan.returncode == 1
    assert (f"! owner-conflict {name}: project {name} (id {theirs.id}) is managed by owner 'a{uid}', not 'b{uid}'; "
            f"take it over or rename the spec (blocks apply; allow with --take-over {name})") in plan.stdout
    taken = apply(ours, stack_env, "--take-over", name)
    assert taken.returncode == 0, taken.stderr
    assert find_project(ls, name, f"b{uid}").id == theirs.id and find_project(ls, name, f"a{uid}") is None
    again = run_cli(["plan", str(ours)], stack_env)
    assert again.stdout.strip() == "No changes.", again.stdout


# -- one of each --------------------------------------------------------------------------------

def test_four_concurrent_applies_make_one_of_each(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    names = [f"k{i}-{uid}" for i in range(10)]
    for name in names:
        upload_csvs(s3, bucket, f"data/{name}/", count=1)
    specs = team_specs(tmp_path / "a", bucket, names, "default", own_prefix=True)
    cmd = [sys.executable, "-m", "lsts_sync", "apply", str(specs), "--auto-approve", "--lock-timeout", "240"]
    runs = [subprocess.Popen(cmd, env=stack_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)]
    outputs = [run.communicate(timeout=400) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert sum("Plan: 21 to add" in out for out, _ in outputs) == 1  # one did the work, the others found it done
    assert sum(out.strip() == "No changes." for out, _ in outputs) == 3, outputs
    for name in names:
        (project,) = find_projects(ls, name)
        assert len(list(ls.import_storage.s3.list(project=project.id))) == 1
    assert run_cli(["plan", str(specs)], stack_env).stdout.strip() == "No changes."


def test_a_held_lock_is_one_line_and_can_be_broken(stack_env, s3, bucket, uid, tmp_path) -> None:
    from lsts_sync.live.lock import S3Lock, lock_key

    upload_csvs(s3, bucket, "data/", count=1)
    specs = team_specs(tmp_path / "a", bucket, [f"l-{uid}"], "default")
    holder = S3Lock(s3, bucket, lock_key(stack_env["LABEL_STUDIO_URL"], "default"))
    held = holder.acquire()
    result = apply(specs, stack_env, "--lock-timeout", "2")
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: another apply holds the lock s3://{bucket}/.lsts-sync/locks/default-")
    assert "waited 2s" in line and f"lsts-sync unlock SPECS --lock-id {held.id}" in line
    assert run_cli(["unlock", str(specs), "--lock-id", "not-it"], stack_env).returncode == 1
    unlocked = run_cli(["unlock", str(specs), "--lock-id", held.id], stack_env)
    assert unlocked.returncode == 0 and unlocked.stdout.startswith("Unlocked s3://")
    assert apply(specs, stack_env).returncode == 0


def test_a_duplicate_made_outside_is_detected_by_plan(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"d-{uid}"
    specs = team_specs(tmp_path / "a", bucket, [name], "default")
    assert apply(specs, stack_env).returncode == 0
    first = find_project(ls, name)
    copy = ls.projects.create(title=first.title, description=first.description)
    plan = run_cli(["plan", str(specs)], stack_env)
    assert plan.returncode == 1
    assert (f"! duplicate project {name}: 2 resources carry the marker of project {name} (ids {first.id}, {copy.id}); "
            f"lsts-sync uses id {first.id}: delete the others") in plan.stdout
    ls.projects.delete(id=copy.id)
    assert run_cli(["plan", str(specs)], stack_env).stdout.strip() == "No changes."


# -- complete listings ------------------------------------------------------------------------

def test_a_prefix_with_more_than_1000_keys_is_read_whole(stack_env, s3, bucket, uid, tmp_path) -> None:
    """The only CSV sorts after 1,001 other keys: a one-page listing would call the prefix empty."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"data/a-{i:04d}.txt", Body=b"x"), range(1001)))
    upload_csvs(s3, bucket, "data/z-", count=1)
    result = run_cli(["plan", str(team_specs(tmp_path / "a", bucket, [f"m-{uid}"], "default"))], stack_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no object under" not in result.stdout and "Plan: 3 to add" in result.stdout


# -- tokens -----------------------------------------------------------------------------------

def test_a_personal_access_token_works_and_bad_tokens_are_one_line(stack, stack_env, s3, bucket, uid,
                                                                   tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    specs = team_specs(tmp_path / "a", bucket, [f"t-{uid}"], "default")
    pat = api(stack, "POST", "/api/token/")["token"]
    assert pat.count(".") == 2
    result = apply(specs, dict(stack_env, LABEL_STUDIO_API_KEY=pat))
    assert result.returncode == 0, result.stderr
    assert pat not in result.stdout + result.stderr

    header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    expired = header + ".eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTAwMDAwMDAwMH0.c2ln"  # exp 2001-09-09
    forged = header + ".eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6NDEwMjQ0NDgwMH0.c2ln"  # exp 2100, bad signature
    api(stack, "POST", "/api/token/blacklist/", {"refresh": pat})
    cases = {
        "": "the token is empty: create a Personal Access Token",
        "abc def": "the token is malformed (it contains spaces or control characters)",
        "f" * 39: "the token is malformed: it has 39 characters, and a legacy token has 40 hex digits",
        expired: "the Personal Access Token expired on 2001-09-09 01:46 UTC",
        forged: "the Personal Access Token was refused (401)",
        pat: "the Personal Access Token was refused (401)",
        "f" * 40: "the token was refused (401)",
    }
    for token, message in cases.items():
        result = run_cli(["plan", str(specs)], dict(stack_env, LABEL_STUDIO_API_KEY=token))
        assert result.returncode == 1, token
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"Error: instance local: {message}"), line
        assert "Traceback" not in result.stderr and (not token.strip() or token not in line)
