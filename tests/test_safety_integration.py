"""Safety through the CLI against the real stack: no lost annotations, adopt, prune, data checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from stack import VENV, free_port

from .conftest import run_cli, upload_csvs
from .test_apply_integration import apply, find_project, write_specs
from .test_export_integration import region

pytestmark = pytest.mark.integration


def annotated_project(stack_env, s3, ls, bucket, name, tmp_path):
    upload_csvs(s3, bucket, "data/", count=1)
    assert apply(write_specs(tmp_path / "a", bucket, name), stack_env).returncode == 0
    project = find_project(ls, name)
    (task,) = list(ls.tasks.list(project=project.id))
    ls.annotations.create(id=task.id, result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Maintenance")])
    return project


def test_removing_a_used_label_is_refused_without_override(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    name = f"s-{uid}"
    project = annotated_project(stack_env, s3, ls, bucket, name, tmp_path)
    before = ls.projects.get(id=project.id).label_config
    fewer = write_specs(tmp_path / "b", bucket, name, labels=("Anomaly",))

    plan = run_cli(["plan", str(fewer)], stack_env)
    assert (f"! label-removal {name}: the template change would orphan annotations or drafts: "
            "Maintenance (label): 1 region(s)") in plan.stdout
    assert f"allow with --allow-label-removal {name}" in plan.stdout
    refused = apply(fewer, stack_env)
    assert refused.returncode == 1 and "apply refused" in refused.stderr
    assert ls.projects.get(id=project.id).label_config == before

    allowed = apply(fewer, stack_env, "--allow-label-removal", name)
    assert allowed.returncode == 0, allowed.stderr
    assert "Maintenance" not in ls.projects.get(id=project.id).label_config


def test_adding_a_label_to_an_annotated_project_is_safe(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    name = f"s-{uid}"
    annotated_project(stack_env, s3, ls, bucket, name, tmp_path)
    more = write_specs(tmp_path / "b", bucket, name, labels=("Anomaly", "Maintenance", "Drift"))
    result = apply(more, stack_env)
    assert result.returncode == 0, result.stderr
    assert "label-removal" not in result.stdout


def test_prune_never_deletes_annotated_project_without_allow_delete(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    name = f"s-{uid}"
    project = annotated_project(stack_env, s3, ls, bucket, name, tmp_path)
    empty = tmp_path / "empty"
    write_specs(empty, bucket, f"other-{uid}")
    upload_csvs(s3, bucket, "data/", count=1)
    args = ["--prune", "--target", f"other-{uid}"]
    # --target keeps prune local: the annotated project is not even considered
    result = apply(empty, stack_env, *args)
    assert result.returncode == 0 and find_project(ls, name) is not None
    result = apply(empty, stack_env, "--prune")
    assert result.returncode == 1 and f"--allow-delete {name}" in result.stdout
    assert find_project(ls, name).id == project.id


def test_unmanaged_title_is_reported_then_adopted(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"s-{uid}"
    by_hand = ls.projects.create(title=f"Test {name}", description="made by hand")
    specs = write_specs(tmp_path / "a", bucket, name)
    result = apply(specs, stack_env)
    assert result.returncode == 1 and f"unmanaged-title {name}" in result.stdout and f"--adopt {name}" in result.stdout
    assert find_project(ls, name) is None
    result = apply(specs, stack_env, "--adopt", name)
    assert result.returncode == 0, result.stderr
    assert find_project(ls, name).id == by_hand.id
    assert apply(specs, stack_env).stdout.strip() == "No changes."


def test_data_checks_name_prefix_key_and_column(stack_env, s3, bucket, uid, tmp_path) -> None:
    specs = write_specs(tmp_path / "a", bucket, f"s-{uid}")
    result = run_cli(["plan", str(specs)], stack_env)
    assert f"no object under s3://{bucket}/data/ matches pattern .*\\.csv (Label Studio refuses" in result.stdout
    s3.put_object(Bucket=bucket, Key="data/deeper/b.csv", Body=b"x")
    result = run_cli(["plan", str(specs)], stack_env)
    assert "; objects lie in sub-folders: set recursive: true" in result.stdout
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"Timestamp,vibration\n2021-01-01 00:00:00,1\n")
    result = apply(specs, stack_env)
    assert result.returncode == 1
    assert f"s3://{bucket}/data/a.csv:1: channel 'temperature' is not in the header" in result.stdout
    assert "time column" not in result.stdout  # 'Timestamp' is fine: Label Studio lowercases header names


def test_missing_bucket_names_its_spec_line_and_wrong_token_is_one_line(stack_env, bucket, uid, tmp_path) -> None:
    specs = write_specs(tmp_path / "a", f"no-such-{uid}", f"s-{uid}")
    result = run_cli(["plan", str(specs)], stack_env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"{specs / 'specs.yaml'}:7: Bucket no-such-{uid}: name: does not exist at {stack_env['S3_ENDPOINT_URL']}",
        "Error: 1 bucket(s) do not exist; nothing was changed"]
    specs = write_specs(tmp_path / "b", bucket, f"s-{uid}")
    result = run_cli(["plan", str(specs)], dict(stack_env, LABEL_STUDIO_API_KEY="1" * 40))
    assert result.returncode == 1 and result.stderr.strip().startswith("Error: instance local: the token was refused (401)")


def test_known_secrets_never_in_any_output_or_log(stack, stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    """Every command of the tool, with a known AWS secret handed to Label Studio: nothing leaks."""
    from .test_export_integration import add_exports

    secret, session = f"known-aws-secret-{uid}", f"known-aws-session-token-{uid}"
    env = dict(stack_env, AWS_SECRET_ACCESS_KEY=secret, AWS_SESSION_TOKEN=session)
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"s-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    add_exports(specs, name, bucket, tmp_path / "out")
    runs = [
        run_cli(["validate", str(specs)], env), run_cli(["render", str(specs), "--project", name], env),
        run_cli(["--debug", "apply", str(specs), "--auto-approve", "--stats"], env),
        run_cli(["--debug", "plan", str(specs), "--json", "--rotate-credentials"], env),
        run_cli(["--debug", "apply", str(specs), "--auto-approve", "--rotate-credentials"], env),
        run_cli(["plan", str(specs), "--markdown"], env), run_cli(["--debug", "export", str(specs)], env),
        run_cli(["--debug", "plan", str(specs)], dict(env, LABEL_STUDIO_API_KEY="2" * 40)),
        run_cli(["--debug", "plan", str(specs)], dict(env, S3_ENDPOINT_URL="http://127.0.0.1:9")),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 0, 0, 0, 0, 1, 1]
    assert '"action": "rotate"' in runs[3].stdout
    logs = [p.read_text(errors="replace") for p in (Path(stack.home) / "logs").glob("*.log")]
    assert logs, "the stack's server logs should be checked too"
    for text in [r.stdout + r.stderr for r in runs] + logs:
        for known in (secret, session, stack.token, "2" * 40):
            assert known not in text


def test_temporary_credentials_are_a_warning(stack_env, s3, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    specs = write_specs(tmp_path / "a", bucket, f"s-{uid}")
    session_token = f"session-token-{uid}"
    result = run_cli(["plan", str(specs), "--detailed-exitcode"], dict(stack_env, AWS_SESSION_TOKEN=session_token))
    assert result.returncode == 2, result.stderr
    assert "Warning: *: the AWS credentials handed to Label Studio are temporary" in result.stdout
    assert session_token not in result.stdout + result.stderr


def test_access_denied_bucket_is_one_line(stack, stack_env, uid, tmp_path) -> None:
    """A second S3 server that enforces credentials (moto's auth mode) refuses our unknown keys."""
    import os
    import subprocess
    import time
    import urllib.request

    port = free_port()
    server = subprocess.Popen([str(VENV / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=1)
                break
            except OSError as exc:
                if getattr(exc, "code", None):
                    break
                time.sleep(0.1)
        specs = write_specs(tmp_path / "a", f"denied-{uid}", f"s-{uid}")
        result = run_cli(["plan", str(specs)], dict(stack_env, S3_ENDPOINT_URL=f"http://127.0.0.1:{port}"))
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"Error: bucket denied-{uid}: access denied (403) "
                                     "while trying to read the bucket")
