#!/usr/bin/env python3
"""Benchmarks (`make bench`): figures are printed, never asserted.

1. start-up: `lsts-sync --help` and `validate` on 100 generated project specs;
2. reconcile: first apply and no-op plan over 50 projects against the local stack, with HTTP request
   counts, next to the notebook way (create project, create storage, sync: one call each, sequential);
3. export: a project with 100,000 labeled regions: download vs transformation time, peak memory;
4. check: `lsts-sync check` over 1,000 objects of 1 MB (1 GB in all; LSTS_BENCH_CHECK_OBJECTS changes
   the count) on the local S3 server: throughput in MB/s (goal: at least 50);
5. predictions: a file of 2 regions for each of 1,000 tasks of one project: the apply that writes
   them, a no-op plan, and the apply after a tenth of the file changed, with request counts.

Uses its own stack (`bench`, free ports) unless LSTS_STACK_NAME names a running one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import stack as stack_tool  # noqa: E402
from demo_data import week_csv  # noqa: E402

PROJECTS = 50
REGIONS = 100_000
CHECK_OBJECTS = int(os.environ.get("LSTS_BENCH_CHECK_OBJECTS", "1000"))
PREDICTED_TASKS = 1000


def timed(cmd: list[str], env: dict | None = None, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def spec_text(bucket: str, count: int, prefix: str = "bench") -> str:
    docs = [f"kind: Instance\nname: local\nurl: ${{LABEL_STUDIO_URL:-http://127.0.0.1:8080}}\n"
            f"token: ${{LABEL_STUDIO_API_KEY:-x}}\n",
            f"kind: Bucket\nname: {bucket}\nendpoint_url: ${{S3_ENDPOINT_URL:-}}\n"]
    for i in range(count):
        docs.append(f"""kind: Project
name: {prefix}-{i:03d}
instance: local
source: {{bucket: {bucket}, prefix: p{i:03d}/, presign_ttl: 30}}
target: {{bucket: {bucket}, prefix: out/p{i:03d}}}
timeseries:
  time_column: timestamp
  time_format: '%Y-%m-%d %H:%M:%S'
  channels: [{{column: vibration}}, {{column: temperature, color: '#ff7f0e'}}, {{column: pressure}}]
labels: [{{value: Anomaly, color: red}}, {{value: Maintenance}}]
""")
    return "---\n".join(docs)


def bench_startup(tmp: Path) -> dict:
    cli = [sys.executable, "-m", "lsts_sync"]
    (tmp / "startup").mkdir()
    (tmp / "startup" / "specs.yaml").write_text(spec_text("lsts-bench", 100))
    return {"help_s": timed(cli + ["--help"]), "validate_100_projects_s": timed(cli + ["validate", str(tmp / "startup")])}


def cli_stats(args: list[str], env: dict) -> tuple[float, int, str]:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "lsts_sync", *args, "--stats"], env=env, capture_output=True,
                            text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{result.stdout}\n{result.stderr}")
    line = next(l for l in result.stderr.splitlines() if l.startswith("HTTP requests:"))
    return elapsed, int(line.split()[2]), line


def bench_reconcile(state, env: dict, tmp: Path) -> dict:
    import boto3

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    bucket = f"lsts-bench-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    for i in range(PROJECTS):
        s3.put_object(Bucket=bucket, Key=f"p{i:03d}/week-01.csv", Body=week_csv(1, minutes=60).encode())
    specs = tmp / "reconcile"
    specs.mkdir()
    tag = bucket.rsplit("-", 1)[1]
    (specs / "specs.yaml").write_text(spec_text(bucket, PROJECTS, prefix=f"b{tag}"))
    apply_s, apply_n, _ = cli_stats(["apply", str(specs), "--auto-approve"], env)
    plan_s, plan_n, plan_line = cli_stats(["plan", str(specs)], env)
    notebook_s, notebook_n = notebook_way(state, bucket, f"n{tag}")
    return {"first_apply_s": apply_s, "first_apply_requests": apply_n, "noop_plan_s": plan_s,
            "noop_plan_requests": plan_n, "noop_plan_detail": plan_line,
            "notebook_create_s": notebook_s, "notebook_requests": notebook_n}


def notebook_way(state, bucket: str, prefix: str) -> tuple[float, int]:
    """The notebook's steps per project, one call each, sequential, no reads (no CORS, no checks)."""
    import httpx

    xml = subprocess.run([sys.executable, "-m", "lsts_sync", "render", str(ROOT / "specs"), "--project", "pump-7"],
                         capture_output=True, text=True, cwd=ROOT).stdout
    headers = {"Authorization": f"Token {state.token}"}
    requests = 0
    start = time.perf_counter()
    with httpx.Client(base_url=state.ls_url, headers=headers, timeout=120) as http:
        for i in range(PROJECTS):
            project = http.post("/api/projects/", json={"title": f"{prefix}-{i}", "label_config": xml}).json()
            storage = http.post("/api/storages/s3", json={
                "project": project["id"], "bucket": bucket, "prefix": f"p{i:03d}/", "regex_filter": ".*csv",
                "use_blob_urls": True, "presign": True, "presign_ttl": 30, "s3_endpoint": state.s3_url,
                "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}).json()
            http.post(f"/api/storages/s3/{storage['id']}/sync")
            requests += 3
    return time.perf_counter() - start, requests


def bench_export(state, env: dict, tmp: Path) -> dict:
    from label_studio_sdk import LabelStudio

    from lsts_sync.export import flatten, outputs_for, regions_frame
    from lsts_sync.live_ls import LabelStudioInstance
    from lsts_sync.loader import load_specs
    from lsts_sync.stats import RequestStats

    specs, _ = load_specs([str(ROOT / "specs")], env=env)
    ls = LabelStudio(base_url=state.ls_url, api_key=state.token, timeout=600)
    xml = subprocess.run([sys.executable, "-m", "lsts_sync", "render", str(ROOT / "specs"), "--project", "pump-7"],
                         capture_output=True, text=True, cwd=ROOT).stdout
    project = ls.projects.create(title=f"export bench {int(time.time())}", label_config=xml)
    tasks_n, per_task = 100, REGIONS // 100
    ls.projects.import_tasks(id=project.id, request=[{"csv": f"s3://lsts-demo/bench/f{i:03d}.csv"}
                                                      for i in range(tasks_n)])
    tasks = list(ls.tasks.list(project=project.id, page_size=1000))
    created = time.perf_counter()
    for t in tasks:
        result = [{"from_name": "label", "to_name": "ts", "type": "timeserieslabels",
                   "value": {"start": f"2021-01-01 {j // 60 % 24:02d}:{j % 60:02d}:00",
                             "end": f"2021-01-01 {j // 60 % 24:02d}:{j % 60:02d}:30", "instant": False,
                             "timeserieslabels": ["Anomaly" if j % 3 else "Maintenance"]}} for j in range(per_task)]
        ls.annotations.create(id=t.id, result=result)
    created = time.perf_counter() - created
    instance = LabelStudioInstance(specs.instances["local"].model_copy(update={"url": state.ls_url}), RequestStats())

    def download():
        return instance.export_tasks(project.id, "bench")

    def transform(data):
        frame = regions_frame(flatten(data, "bench", "latest", {}))
        outputs = outputs_for(specs.exports["pump-7-table"], specs.projects["pump-7"], frame)
        return frame, outputs + outputs_for(specs.exports["pump-7-lookout"], specs.projects["pump-7"], frame)

    # Times first, then a second pass under tracemalloc (which slows allocation-heavy code a lot).
    start = time.perf_counter()
    data = download()
    download_s = time.perf_counter() - start
    start = time.perf_counter()
    frame, outputs = transform(data)
    transform_s = time.perf_counter() - start
    del data, frame
    tracemalloc.start()
    data = download()
    _, download_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    transform(data)
    _, transform_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"regions": REGIONS, "create_annotations_s": created, "download_s": download_s,
            "transform_s": transform_s, "download_peak_mb": download_peak / 2**20,
            "transform_peak_mb": transform_peak / 2**20, "table_bytes": len(outputs[0].data)}


def one_megabyte_csv() -> bytes:
    """About 1 MB of a well-formed time series: one row per second, two channels."""
    lines = ["timestamp,vibration,temperature"]
    start = 1609459200
    for i in range(32_000):
        t = time.gmtime(start + i)
        lines.append(f"{time.strftime('%Y-%m-%d %H:%M:%S', t)},{(i % 97) / 7:.3f},{40 + (i % 13) / 3:.2f}")
    return ("\n".join(lines) + "\n").encode()


def bench_check(state, env: dict, tmp: Path) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    bucket = f"lsts-check-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    body = one_megabyte_csv()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"big/{i:04d}.csv", Body=body), range(CHECK_OBJECTS)))
    specs = tmp / "check"
    specs.mkdir()
    (specs / "specs.yaml").write_text(spec_text(bucket, 0) + f"""---
kind: Project
name: big
instance: local
source: {{bucket: {bucket}, prefix: big/}}
timeseries:
  time_column: timestamp
  time_format: '%Y-%m-%d %H:%M:%S'
  channels: [{{column: vibration}}, {{column: temperature}}]
labels: [{{value: Anomaly}}]
""")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "lsts_sync", "check", str(specs), "--max-rows", "1000000"],
                            env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"check failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    total = len(body) * CHECK_OBJECTS
    return {"objects": CHECK_OBJECTS, "megabytes": total / 1e6, "seconds": elapsed,
            "mb_per_s": total / 1e6 / elapsed, "goal_mb_per_s": 50, "summary": result.stderr.strip().splitlines()[-1]}


def predictions_csv(tasks: int, shift: int = 0, changed: int = 0) -> str:
    """Two regions per task's file; the first ``changed`` files get their first region moved by ``shift`` minutes."""
    rows = ["file,start,end,label,score"]
    for i in range(tasks):
        moved = shift if i < changed else 0
        rows.append(f"pred/{i:04d}.csv,2021-01-01 00:{10 + moved:02d}:00,2021-01-01 00:{20 + moved:02d}:00,Anomaly,0.9")
        rows.append(f"pred/{i:04d}.csv,2021-01-01 00:40:00,2021-01-01 00:45:00,Maintenance,0.3")
    return "\n".join(rows) + "\n"


def bench_predictions(state, env: dict, tmp: Path) -> dict:
    import boto3

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    bucket = f"lsts-bench-pred-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    body = week_csv(1, minutes=60).encode()
    for i in range(PREDICTED_TASKS):
        s3.put_object(Bucket=bucket, Key=f"pred/{i:04d}.csv", Body=body)
    specs = tmp / "predictions"
    specs.mkdir()
    spec = spec_text(bucket, 1, prefix=f"pred{bucket.rsplit('-', 1)[1]}").replace("prefix: p000/", "prefix: pred/")
    name = spec.split("kind: Project\nname: ", 1)[1].split("\n", 1)[0]
    (specs / "specs.yaml").write_text(spec + f"---\nkind: Predictions\nname: detector\nproject: {name}\n"
                                      "model_version: bench-1\nfile: predictions.csv\n")
    (specs / "predictions.csv").write_text(predictions_csv(PREDICTED_TASKS))
    cli_stats(["apply", str(specs), "--auto-approve"], env)  # the project and its 1,000 tasks
    write_s, write_n, write_line = cli_stats(["apply", str(specs), "--auto-approve"], env)
    noop_s, noop_n, noop_line = cli_stats(["plan", str(specs)], env)
    (specs / "predictions.csv").write_text(predictions_csv(PREDICTED_TASKS, shift=5, changed=PREDICTED_TASKS // 10))
    change_s, change_n, change_line = cli_stats(["apply", str(specs), "--auto-approve"], env)
    return {"tasks": PREDICTED_TASKS, "write_apply_s": write_s, "write_apply_requests": write_line,
            "noop_plan_s": noop_s, "noop_plan_requests": noop_line,
            "tenth_changed_apply_s": change_s, "tenth_changed_apply_requests": change_line}


def main() -> None:
    reuse = os.environ.get("LSTS_STACK_NAME")
    state = stack_tool.load_state(reuse) if reuse else stack_tool.up("bench")
    env = {**os.environ, **state.env()}
    os.environ.update(state.env())
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results["startup"] = bench_startup(Path(tmp))
            results["reconcile_50_projects"] = bench_reconcile(state, env, Path(tmp))
            results["export_100k_regions"] = bench_export(state, env, Path(tmp))
            results["check_every_row"] = bench_check(state, env, Path(tmp))
            results["predictions_1000_tasks"] = bench_predictions(state, env, Path(tmp))
    finally:
        if not reuse:
            stack_tool.down("bench")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
