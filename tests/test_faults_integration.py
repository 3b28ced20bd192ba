"""Faults converge: injected failures between lsts-sync and the real Label Studio, kills, re-runs."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import time

import pytest

from .conftest import ROOT, run_cli, upload_csvs
from .faultproxy import FaultProxy
from .test_apply_integration import apply, find_project, write_specs
from .test_export_integration import region

pytestmark = pytest.mark.integration


def storages(ls, project_id: int) -> list[str]:
    found = [s.description for s in ls.import_storage.s3.list(project=project_id)]
    found += [s.description for s in ls.export_storage.s3.list(project=project_id)]
    return sorted(d for d in found if d and "managed-by: lsts-sync" in d)


def test_lost_create_response_is_found_by_marker_not_duplicated(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=2)
    name = f"f-{uid}"

    def rule(method: str, path: str, n: int) -> str:
        if method == "POST" and path in ("/api/projects/", "/api/storages/s3/", "/api/storages/s3") and n == 1:
            return "fail-after"
        if method == "GET" and path == "/api/projects/" and n == 2:
            return "fail"  # a transient 502 on a read is retried too
        return "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        result = apply(write_specs(tmp_path / "a", bucket, name), dict(stack_env, LABEL_STUDIO_URL=proxy.url))
    assert result.returncode == 0, result.stderr
    assert ("POST", "/api/projects/", "fail-after") in proxy.log
    project = find_project(ls, name)  # asserts there is no duplicate
    assert storages(ls, project.id) == [f"managed-by: lsts-sync owner=default name={name}/source",
                                        f"managed-by: lsts-sync owner=default name={name}/target"]
    assert len(list(ls.tasks.list(project=project.id))) == 2


def test_a_server_echoing_secrets_back_is_redacted(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    """Label Studio answers the storage create with an error that repeats the AWS secret and the token."""
    upload_csvs(s3, bucket, "data/", count=1)
    secret, session = f"echoed-aws-secret-{uid}", f"echoed-session-{uid}"
    env = dict(stack_env, AWS_SECRET_ACCESS_KEY=secret, AWS_SESSION_TOKEN=session)

    def rule(method: str, path: str, n: int) -> str:
        return "echo 400" if method == "POST" and path.rstrip("/") == "/api/storages/s3" else "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        result = run_cli(["--debug", "apply", str(write_specs(tmp_path / "a", bucket, f"e-{uid}")),
                          "--auto-approve"], dict(env, LABEL_STUDIO_URL=proxy.url))
    assert result.returncode == 1
    # the echo was shown, with the header's token and the key fields masked
    assert re.search(r'failed with HTTP 400: {"detail": "invalid request \((Token|Bearer) \(sensitive\)\) ', result.stderr)
    assert "aws_secret_access_key=(sensitive) aws_session_token=(sensitive)" in result.stderr
    for known in (secret, session, stack.token):
        assert known not in result.stdout + result.stderr


def test_failure_part_way_reports_and_rerun_converges(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"f-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)

    def rule(method: str, path: str, n: int) -> str:
        return "drop" if method == "POST" and path.startswith("/api/storages/export") else "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        result = apply(specs, dict(stack_env, LABEL_STUDIO_URL=proxy.url))
    assert result.returncode == 1
    assert f"Applied 3 step(s): create bucket {bucket} CORS rule lsts-sync, create project {name}, " \
           f"create storage {name}/source" in result.stderr
    assert f"Not applied: create storage {name}/target, sync storage {name}/source" in result.stderr
    assert "Traceback" not in result.stderr

    plan = run_cli(["plan", str(specs)], stack_env)
    # the missing storage, and the CORS origin back from the proxy's address to Label Studio's own
    assert f"+ storage {name}/target" in plan.stdout and f"~ bucket {bucket} CORS rule" in plan.stdout
    assert "Plan: 1 to add, 1 to change, 0 to delete." in plan.stdout
    assert apply(specs, stack_env).returncode == 0
    assert apply(specs, stack_env).stdout.strip() == "No changes."
    assert len(storages(ls, find_project(ls, name).id)) == 2


def test_kill_at_random_points_then_rerun_converges(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=2)
    rng = random.Random(20261123)
    name = f"f-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    annotated = None
    for round_ in range(4):
        labels = ("Anomaly", "Maintenance") + tuple(f"Extra{i}" for i in range(round_))
        specs = write_specs(tmp_path / f"r{round_}", bucket, name, labels=labels, ttl=10 + round_)
        proc = subprocess.Popen([sys.executable, "-m", "lsts_sync", "apply", str(specs), "--auto-approve"],
                                env=stack_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 3.0))
        proc.kill()
        proc.wait()
        if annotated is None and (project := find_project(ls, name)) is not None:
            tasks = list(ls.tasks.list(project=project.id))
            if tasks:
                annotated = ls.annotations.create(id=tasks[0].id, result=[
                    region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")]).id
    final = apply(specs, stack_env)
    assert final.returncode == 0, final.stderr
    assert apply(specs, stack_env).stdout.strip() == "No changes."
    project = find_project(ls, name)
    assert len(storages(ls, project.id)) == 2
    assert len(list(ls.tasks.list(project=project.id))) == 2
    if annotated is not None:
        assert ls.annotations.get(id=annotated).result[0]["value"]["timeserieslabels"] == ["Anomaly"]


# -- every way a create can fail after the server saved it (issue: a duplicate project under load) --

CREATES = ("/api/projects/", "/api/storages/s3", "/api/storages/s3/", "/api/storages/export/s3",
           "/api/storages/export/s3/")


def _with_timeout(specs, seconds: float):
    """The specs with the Instance's answer timeout set (the client gives up on a late answer)."""
    path = specs / "specs.yaml"
    path.write_text(path.read_text().replace("token: ${LABEL_STUDIO_API_KEY}\n",
                                             f"token: ${{LABEL_STUDIO_API_KEY}}\ntimeout: {seconds}\n", 1))
    return specs


def _one_of_each(ls, name: str) -> None:
    project = find_project(ls, name)  # asserts there is no duplicate project
    assert storages(ls, project.id) == [f"managed-by: lsts-sync owner=default name={name}/source",
                                        f"managed-by: lsts-sync owner=default name={name}/target"]


@pytest.mark.parametrize("fault", ["fail-after 500", "forward-drop"])
def test_a_create_that_fails_after_the_save_is_found_not_sent_again(fault, stack, stack_env, s3, ls, bucket, uid,
                                                                    tmp_path) -> None:
    """Label Studio's 500 after the save (a write after it met a locked database), and a server that
    saves then resets the connection: the create is looked for by marker, found, not repeated."""
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"f-{uid}"

    def rule(method: str, path: str, n: int) -> str:
        return fault if method == "POST" and path in CREATES and n == 1 else "pass"

    with FaultProxy(stack.ls_url, rule) as proxy:
        result = apply(write_specs(tmp_path / "a", bucket, name), dict(stack_env, LABEL_STUDIO_URL=proxy.url))
    assert result.returncode == 0, result.stderr
    assert [a for m, p, a in proxy.log if m == "POST" and p == "/api/projects/"] == [fault]  # never re-sent
    _one_of_each(ls, name)


def test_a_create_whose_answer_times_out_is_looked_for_until_it_lands(stack, stack_env, s3, ls, bucket, uid,
                                                                      tmp_path) -> None:
    """The client gives up after 2 s; the server only saves at 4 s. The first look finds nothing, a
    look a few seconds later finds it: the create is not sent again."""
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"f-{uid}"

    def rule(method: str, path: str, n: int) -> str:
        return "late 4" if method == "POST" and path == "/api/projects/" and n == 1 else "pass"

    specs = _with_timeout(write_specs(tmp_path / "a", bucket, name), 2)
    with FaultProxy(stack.ls_url, rule) as proxy:
        result = apply(specs, dict(stack_env, LABEL_STUDIO_URL=proxy.url))
    assert result.returncode == 0, result.stderr
    assert [a for m, p, a in proxy.log if m == "POST" and p == "/api/projects/"] == ["late 4"]
    assert len([1 for m, p, _ in proxy.log if m == "GET" and p == "/api/projects/"]) >= 2  # looked more than once
    _one_of_each(ls, name)


def test_a_create_the_server_runs_twice_leaves_one_of_each(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    """One POST, two projects (and two storages): Label Studio ran the request again. Apply reads
    each create back, keeps the lowest id, deletes the empty extra and says so in one line."""
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"f-{uid}"

    def rule(method: str, path: str, n: int) -> str:
        return "twice" if method == "POST" and path in CREATES and n == 1 else "pass"

    specs = write_specs(tmp_path / "a", bucket, name)
    with FaultProxy(stack.ls_url, rule) as proxy:
        result = apply(specs, dict(stack_env, LABEL_STUDIO_URL=proxy.url))
    assert result.returncode == 0, result.stderr
    assert [a for m, p, a in proxy.log if m == "POST" and p == "/api/projects/"] == ["twice"]
    assert re.search(rf"create project {name}: the server saved it 2 times \(ids (\d+), (\d+)\); kept \1, "
                     rf"deleted \2", result.stderr), result.stderr
    assert f"create storage {name}/source: the server saved it 2 times" in result.stderr
    _one_of_each(ls, name)
    plan = run_cli(["plan", str(specs)], stack_env)  # nothing blocks: only the CORS origin moves back from the proxy
    assert plan.returncode == 0 and "Plan: 0 to add, 1 to change, 0 to delete." in plan.stdout, plan.stdout
