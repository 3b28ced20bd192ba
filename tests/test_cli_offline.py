"""The offline commands through the real console entry point (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
PUMP7 = [str(DATA / "pump-7-site.yaml"), str(DATA / "good")]  # one instance, bucket, project and export


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lsts_sync", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=60)


def test_validate_ok_on_project_specs() -> None:
    result = run("validate", *PUMP7)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("OK: 1 instances, 1 buckets, 1 projects, 1 exports")


@pytest.mark.parametrize("folder", ["specs", "../shared/examples"])
def test_the_demo_and_shared_examples_validate(folder: str) -> None:
    """The examples users copy must stay valid (whatever they hold: no counts here)."""
    if not (ROOT / folder).is_dir():
        pytest.skip(f"{folder} is absent")
    result = run("validate", folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: ")


def test_validate_bad_spec_one_line_no_traceback() -> None:
    bad = DATA / "specs" / "bad-pattern.yaml"
    result = run("validate", str(DATA / "base.yaml"), str(bad))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"{bad}:7: Project p: source.pattern: invalid regular expression")
    assert lines[-1] == "Error: 1 error(s) in specs; nothing was changed"
    assert "Traceback" not in result.stderr


def test_schema_is_json_with_all_kinds() -> None:
    result = run("schema")
    schema = json.loads(result.stdout)
    assert {"InstanceSpec", "BucketSpec", "ProjectSpec", "ExportSpec", "PredictionsSpec"} <= set(schema["$defs"])
    assert schema["$defs"]["ProjectSpec"]["additionalProperties"] is False


def test_render_prints_template_and_unknown_project_fails() -> None:
    result = run("render", *PUMP7, "--project", "pump-7")
    assert result.returncode == 0 and result.stdout.startswith("<View>")
    result = run("render", *PUMP7, "--project", "nope")
    assert result.returncode == 1 and "no Project spec named 'nope'" in result.stderr


def test_help_and_validate_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys\nfrom lsts_sync.cli.main import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'boto3', 'label_studio_sdk', 'botocore', 'httpx') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    for args in (["--help"], ["validate", *PUMP7]):
        result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
        assert "HEAVY []" in result.stdout, (args, result.stdout, result.stderr)


def test_plan_and_apply_load_no_pandas_deepdiff_or_sdk() -> None:
    """Every module plan and apply import (text output): pandas loads only for export and the
    column-wise data check, deepdiff only for plan --json, label-studio-sdk never."""
    code = ("import sys, lsts_sync.cli.main, lsts_sync.live.connections, lsts_sync.live.label_studio, lsts_sync.live.s3, lsts_sync.live.gather, "
            "lsts_sync.plan.build, lsts_sync.plan.render, lsts_sync.plan.saved, lsts_sync.apply.executor, lsts_sync.live.lock, "
            "lsts_sync.desired.build, lsts_sync.data.sources, lsts_sync.data.datachecks, lsts_sync.core.parallel\n"
            "print('HEAVY', [m for m in ('pandas', 'numpy', 'deepdiff', 'label_studio_sdk') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "HEAVY []" in result.stdout, (result.stdout, result.stderr)
