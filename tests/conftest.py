"""Fixtures for integration tests: a real Label Studio and a real S3 server on loopback.

The stack is started once per test session by ``tools/stack.py`` (stack name ``test``, free ports)
and stopped at the end, unless one is already running under ``LSTS_STACK_NAME`` (e.g. the default
stack from ``make stack-up``), which is reused and left running. Each test gets its own names.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import stack as stack_tool  # noqa: E402

# The spec fixtures every unit test module may take (tests/fakes.py: load_two_projects, load_pump7).
from .fakes import predicted_specs, pump7_specs, two_projects_specs  # noqa: E402, F401


@pytest.fixture(scope="session")
def stack() -> Iterator[stack_tool.StackState]:
    reuse = os.environ.get("LSTS_STACK_NAME")
    if reuse:
        state = stack_tool.load_state(reuse)
        if state is None:
            pytest.fail(f"LSTS_STACK_NAME={reuse} but that stack is not running (make stack-up)")
        yield state
        return
    state = stack_tool.up("test")
    try:
        yield state
    finally:
        stack_tool.down("test")


@pytest.fixture
def stack_env(stack: stack_tool.StackState, tmp_path: Path) -> dict[str, str]:
    """A clean environment pointing lsts-sync and boto3 at the stack (no user AWS config)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABEL_STUDIO_"))}
    env.update(stack.env())
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-aws-credentials")
    return env


@pytest.fixture
def s3(stack_env: dict[str, str]):
    import boto3

    return boto3.client("s3", endpoint_url=stack_env["S3_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id=stack_env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=stack_env["AWS_SECRET_ACCESS_KEY"])


@pytest.fixture
def ls(stack: stack_tool.StackState):
    """label-studio-sdk client, for setting up and inspecting state in tests."""
    from label_studio_sdk import LabelStudio

    return LabelStudio(base_url=stack.ls_url, api_key=stack.token)


@pytest.fixture
def uid() -> str:
    """A short unique suffix so tests sharing one Label Studio never collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def bucket(s3, uid: str) -> str:
    name = f"lsts-test-{uid}"
    s3.create_bucket(Bucket=name)
    return name


def upload_csvs(s3, bucket: str, prefix: str, count: int = 3) -> list[str]:
    """Upload ``count`` generated pump CSVs under ``prefix``; returns their keys."""
    from demo_data import week_csv

    keys = []
    for week in range(1, count + 1):
        key = f"{prefix}week-{week:02d}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=week_csv(week, minutes=60).encode())
        keys.append(key)
    return keys


def run_cli(args: list[str], env: dict[str, str], cwd: Path | None = None,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m lsts_sync ARGS`` as a user would; returns the finished process."""
    return subprocess.run([sys.executable, "-m", "lsts_sync", *args], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, input=input, timeout=300)
