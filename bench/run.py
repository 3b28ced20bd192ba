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
6. export of 1,000,000 regions to table through a local snapshot server: transformation vs download,
   peak memory vs the CSV (goals 10 % and 2x);
7. dense over 100 files of 100,000 rows (LSTS_BENCH_DENSE_FILES changes the count): rows per second.

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


MILLION = 1_000_000
DENSE_FILES = int(os.environ.get("LSTS_BENCH_DENSE_FILES", "100"))
DENSE_ROWS = 100_000


def snapshot_json(path: Path, tasks: int, per_task: int) -> int:
    """A Label Studio export snapshot (JSON) of ``tasks`` tasks with one annotation of ``per_task``
    regions each, shaped as Label Studio 1.23.2 writes them; written piece by piece. Returns its size."""
    with open(path, "w") as out:
        out.write("[")
        for t in range(tasks):
            result = ",".join(json.dumps({
                "id": f"r{t}x{j}", "type": "timeserieslabels", "origin": "manual", "to_name": "ts", "from_name": "label",
                "value": {"start": f"2021-01-01 {j // 3600 % 24:02d}:{j // 60 % 60:02d}:{j % 60:02d}",
                          "end": f"2021-01-01 {(j + 30) // 3600 % 24:02d}:{(j + 30) // 60 % 60:02d}:{(j + 30) % 60:02d}",
                          "instant": False, "timeserieslabels": ["Anomaly" if j % 3 else "Maintenance"]}})
                for j in range(per_task))
            out.write(("," if t else "") + json.dumps({
                "id": t + 1, "data": {"csv": f"s3://lsts-demo/bench/f{t:04d}.csv"}, "meta": {}, "predictions": [],
                "drafts": [], "created_at": "2024-01-01T00:00:00.000000Z", "updated_at": "2024-01-01T00:00:00.000000Z",
                "inner_id": t + 1, "total_annotations": 1, "cancelled_annotations": 0,
                "annotations": [{"id": t + 1, "completed_by": 1, "was_cancelled": False, "ground_truth": False,
                                 "created_at": "2024-01-01T00:00:00.000000Z", "updated_at": "2024-01-01T00:00:00.000000Z",
                                 "lead_time": 12.5, "result": "RESULT"}]}).replace('"RESULT"', f"[{result}]"))
        out.write("]")
    return path.stat().st_size


class SnapshotServer:
    """A local HTTP server answering the snapshot export API (create, status, download, delete) with
    one file, so the 1M-region export runs through lsts-sync's own transport and parser."""

    def __init__(self, path: Path):
        import shutil
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def answer(self, status: int, body: bytes = b"{}", kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer(201, b'{"id": 1, "status": "created"}')

            def do_DELETE(self) -> None:
                self.answer(204, b"")

            def do_GET(self) -> None:
                if not self.path.split("?")[0].endswith("/download"):
                    return self.answer(200, b'{"id": 1, "status": "completed"}')
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(path.stat().st_size))
                self.end_headers()
                with open(path, "rb") as body:
                    shutil.copyfileobj(body, self.wfile, 1 << 20)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def bench_export_million(tmp: Path) -> dict:
    """1,000,000 regions (1,000 tasks of 1,000) exported to ``table``: the snapshot downloaded from a
    local server by lsts-sync's transport into a temporary file, then decoded one task at a time,
    flattened, sorted and written as CSV bytes. Goals: transformation at most 10 % of the download;
    peak memory (tracemalloc, download and transformation) at most 2x the output CSV. The download
    is wall time (waiting on the network); the transformation is CPU time of this process, which
    does not count the time other processes on the machine take from it."""
    from lsts_sync.export import outputs_for, read_annotations
    from lsts_sync.live_ls import LabelStudioInstance
    from lsts_sync.loader import load_specs
    from lsts_sync.models import ExportSpec
    from lsts_sync.stats import RequestStats

    size = snapshot_json(tmp / "snapshot.json", 1000, MILLION // 1000)
    server = SnapshotServer(tmp / "snapshot.json")
    specs, _ = load_specs([str(ROOT / "specs")], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    instance = LabelStudioInstance(specs.instances["local"].model_copy(update={"url": server.url}), RequestStats())
    export = ExportSpec(kind="Export", name="bench", project="pump-7", output=str(tmp / "regions.csv"))
    project = specs.projects["pump-7"]

    def run() -> tuple[float, float, float, int]:
        """Wall seconds of the download; process CPU seconds of decode + flatten + sort, and of the CSV."""
        start = time.perf_counter()
        tasks = instance.export_tasks(1, "bench")  # the download, into a temporary file
        download = time.perf_counter() - start
        start = time.process_time()
        annotations = read_annotations(tasks, "bench", "latest", {1: "admin@example.com"})
        read = time.process_time() - start
        start = time.process_time()
        (output,) = outputs_for(export, project, annotations.regions)
        return download, read, time.process_time() - start, len(output.data)

    try:
        decode = time.process_time()
        for _ in instance.export_tasks(1, "bench"):
            pass
        decode = time.process_time() - decode  # (the in-process server's CPU while downloading included)
        download_s, read_s, csv_s, csv_bytes = run()
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        server.close()
    transform_s = read_s + csv_s
    return {"regions": MILLION, "snapshot_mb": size / 2**20, "download_s": download_s,
            "decode_cpu_s_at_most": decode, "decode_flatten_sort_cpu_s": read_s, "csv_cpu_s": csv_s,
            "transform_cpu_s": transform_s, "transform_to_download": transform_s / download_s, "goal_ratio": 0.10,
            "peak_mb": peak / 2**20, "output_csv_mb": csv_bytes / 2**20, "peak_to_output": peak / csv_bytes,
            "goal_peak_to_output": 2.0}


def dense_csv(rows: int, offset: int) -> bytes:
    """``rows`` seconds of a two-channel series starting ``offset`` seconds into 2021."""
    import numpy as np
    import pandas as pd

    stamps = pd.date_range("2021-01-01", periods=rows, freq="s") + pd.Timedelta(seconds=offset)
    frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"),
                          "vibration": np.round(np.sin(np.arange(rows) / 50) + 2, 3),
                          "temperature": np.round(np.arange(rows) % 97 / 7 + 40, 2)})
    return frame.to_csv(index=False, lineterminator="\n").encode()


def bench_dense(state, env: dict, tmp: Path) -> dict:
    """``dense`` over DENSE_FILES files of 100,000 rows (100 regions each, some overlapping, some
    instants), read from the stack's S3 server in parallel, split into one CSV per file. Rows/s with
    the S3 reads, and of the transformation alone (files already in memory)."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    from lsts_sync.dense import dense_outputs
    from lsts_sync.export import read_annotations
    from lsts_sync.live_s3 import S3Buckets
    from lsts_sync.models import BucketSpec, ExportSpec
    from lsts_sync.loader import load_specs
    from lsts_sync.stats import RequestStats

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    bucket = f"lsts-dense-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    body = dense_csv(DENSE_ROWS, 0)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"dense/{i:03d}.csv", Body=body), range(DENSE_FILES)))

    def stamp(second: int) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(1609459200 + second))

    regions = [{"type": "timeserieslabels", "value": {
        "start": stamp(j * 997), "end": stamp(j * 997 + (0 if j % 10 == 0 else 1500)), "instant": j % 10 == 0,
        "timeserieslabels": ["Anomaly" if j % 2 else "Maintenance"]}} for j in range(100)]
    tasks = [{"id": i, "data": {"csv": f"s3://{bucket}/dense/{i:03d}.csv"},
              "annotations": [{"id": i, "updated_at": "2024-01-01T00:00:00Z", "result": regions}]}
             for i in range(DENSE_FILES)]
    annotations = read_annotations(tasks, "bench", "latest", {})
    specs, _ = load_specs([str(ROOT / "specs")], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    export = ExportSpec(kind="Export", name="dense", project="pump-7", format="dense", split="{stem}-dense.csv",
                        output=str(tmp / "dense" / "x"))
    buckets = {bucket: BucketSpec(kind="Bucket", name=bucket, endpoint_url=state.s3_url)}
    store = S3Buckets(buckets, RequestStats())
    rows = DENSE_ROWS * DENSE_FILES

    start = time.perf_counter()
    outputs = dense_outputs(export, specs.projects["pump-7"], annotations, store.read_bytes, buckets, lambda l: None)
    with_s3 = time.perf_counter() - start
    assert sum(o.rows for o in outputs) == rows
    out_bytes = sum(len(o.data) for o in outputs)
    del outputs
    start = time.perf_counter()
    dense_outputs(export, specs.projects["pump-7"], annotations, lambda b, k: body, buckets, lambda l: None)
    in_memory = time.perf_counter() - start
    return {"files": DENSE_FILES, "rows": rows, "source_mb": len(body) * DENSE_FILES / 2**20,
            "output_mb": out_bytes / 2**20, "seconds_with_s3": with_s3, "rows_per_s_with_s3": rows / with_s3,
            "seconds_in_memory": in_memory, "rows_per_s_in_memory": rows / in_memory}


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
            results["export_1m_regions_table"] = bench_export_million(Path(tmp))
            results["export_dense"] = bench_dense(state, env, Path(tmp))
            results["check_every_row"] = bench_check(state, env, Path(tmp))
            results["predictions_1000_tasks"] = bench_predictions(state, env, Path(tmp))
    finally:
        if not reuse:
            stack_tool.down("bench")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
