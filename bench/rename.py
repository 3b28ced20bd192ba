"""The `rename` part of `make bench`: a label rename carried into 10,000 regions.

One project (source and target storage, as `spec_text` makes them) with 100 tasks, each with one
annotation of 100 regions labeled Maintenance; then the spec renames Maintenance to Service
(`renamed_from`). Measured: the plan that reads the usage and shows the relabel step, the
apply (backup, 100 annotation saves, the template), and the no-op plan after it, with their
request counts (`--stats`). Also runnable alone on a running stack:
`LSTS_STACK_NAME=NAME python bench/rename.py`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

TASKS = 100
REGIONS_PER_TASK = 100


def _annotate(state, project_name: str) -> int:
    """One annotation of ``REGIONS_PER_TASK`` regions on each task; returns the regions made."""
    from label_studio_sdk import LabelStudio

    ls = LabelStudio(base_url=state.ls_url, api_key=state.token, timeout=600)
    marker = f"name={project_name}"
    (project,) = [p for p in ls.projects.list(page_size=1000, include="id,description")
                  if (p.description or "").endswith(marker)]
    made = 0
    for task in ls.tasks.list(project=project.id, page_size=1000):
        result = [{"id": f"r{j}", "from_name": "label", "to_name": "ts", "type": "timeserieslabels",
                   "value": {"start": f"2021-01-01 00:{j % 60:02d}:00", "end": f"2021-01-01 00:{j % 60:02d}:30",
                             "instant": False, "timeserieslabels": ["Maintenance"]}}
                  for j in range(REGIONS_PER_TASK)]
        ls.annotations.create(id=task.id, result=result)
        made += len(result)
    return made


def bench_rename(state, env: dict, tmp: Path) -> dict:
    import boto3
    from demo_data import week_csv
    from run import cli_stats, spec_text

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    bucket = f"lsts-bench-rename-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    body = week_csv(1, minutes=60).encode()
    for i in range(TASKS):
        s3.put_object(Bucket=bucket, Key=f"p000/{i:04d}.csv", Body=body)
    specs = tmp / "rename"
    specs.mkdir()
    prefix = f"rename{bucket.rsplit('-', 1)[1]}"
    spec = spec_text(bucket, 1, prefix=prefix)
    (specs / "specs.yaml").write_text(spec)
    cli_stats(["apply", str(specs), "--auto-approve"], env)  # the project and its tasks
    regions = _annotate(state, f"{prefix}-000")
    (specs / "specs.yaml").write_text(spec.replace("{value: Maintenance}",
                                                   "{value: Service, renamed_from: Maintenance}"))
    plan_s, _, plan_line = cli_stats(["plan", str(specs)], env)
    backups = tmp / "rename-backups"
    apply_s, _, apply_line = cli_stats(["apply", str(specs), "--auto-approve", "--backup-dir", str(backups)], env)
    noop_s, _, noop_line = cli_stats(["plan", str(specs)], env)
    (backup,) = backups.iterdir()
    return {"renamed_regions": regions, "annotations": TASKS, "plan_s": plan_s,
            "plan_requests": plan_line, "apply_s": apply_s, "apply_requests": apply_line,
            "noop_plan_after_s": noop_s, "noop_plan_requests": noop_line, "backup_bytes": backup.stat().st_size}


def main() -> None:
    import stack as stack_tool

    state = stack_tool.load_state(os.environ["LSTS_STACK_NAME"])
    os.environ.update(state.env())
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(bench_rename(state, env, Path(tmp)), indent=2))


if __name__ == "__main__":
    main()
