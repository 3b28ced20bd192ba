#!/usr/bin/env python3
"""Benchmarks (`make bench`): figures are printed as JSON, never asserted.

1. start-up: `lsts-sync --help` and `validate` on 100 generated project specs, and what importing
   label-studio-sdk would cost (lsts-sync does not import it);
2. reconcile, at N = 50 and 200 projects (LSTS_BENCH_PROJECTS), on a running stack: the first apply
   next to the notebook way (the same resources, one call each, in sequence, no reads), and the
   no-op plan next to its read floor (the same GET/HEAD requests the plan made, issued in sequence
   with plain httpx from this process), as the ratios `first_apply_vs_notebook` and
   `noop_plan_vs_read_floor`; the time from process start to the plan's first request; the no-op
   plan with --parallelism 1 (sequential reads) next to the default. On the dev stack, and on the
   production-like one (`stack.up(name, flavour="prod")`) where tools/stack.py has it;
3. export: a project with 100,000 labeled regions: download vs transformation time, peak memory;
4. check: `lsts-sync check` over 1,000 objects of 1 MB (1 GB in all; LSTS_BENCH_CHECK_OBJECTS changes
   the count) on the local S3 server: throughput in MB/s (goal: at least 150), with the CPU seconds
   of the command and of the S3 server next to it;
5. predictions: a file of 2 regions for each of 1,000 tasks of one project: the apply that writes
   them, a no-op plan, and the apply after a tenth of the file changed, with request counts.
6. export of 1,000,000 regions to table through a local snapshot server: the transform (decode,
   flatten, sort, write) in MB/s of snapshot JSON and next to the download, peak memory vs the CSV
   (goals 150 MB/s and 2x);
7. dense over 100 files of 100,000 rows (LSTS_BENCH_DENSE_FILES changes the count): rows per second;
8. report: `lsts-sync report --json` of 1,000 tasks of 720 rows with 10 labeled regions each (a tenth
   labeled by a second annotator) and two model versions of 10 regions per task: wall time of the
   command, and the measuring alone (source files already in memory);
9. rename: a label renamed in 10,000 regions of 100 annotations (`bench/rename.py`): plan, apply, no-op plan;
10. windows (bench/windows.py): window files written from 1 GB of CSV sources (LSTS_BENCH_WINDOW_MB) and
   the same series as Parquet: MB/s, rows/s and CPU seconds of the transform, new windows (not
   hashed) and every window hashed (goals 150 MB/s of CSV; 300 MB/s of the series' CSV size from
   Parquet), one Parquet object of distinct floats, peak memory for a 7-, 30- and 90-day object, and
   the S3 PUTs of one object's windows, separately.
11. page (bench/page.py): in Chromium, the labeling page of a whole 30-day 1 Hz object (2.6 million
   rows) next to one of its 6-hour windows: seconds from navigation until the chart is drawn (the
   whole object capped at 120 s), their ratio, the renderer's memory.

LSTS_BENCH_ONLY=reconcile (comma-separated: startup, reconcile, export, check, predictions, report, rename, windows,
page) runs only those parts.
Uses its own stack (`bench`, free ports) unless LSTS_STACK_NAME names a running one.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import stack as stack_tool  # noqa: E402
from demo_data import week_csv  # noqa: E402

PARTS = ("startup", "reconcile", "export", "check", "predictions", "report", "rename", "windows", "page")
SIZES = tuple(int(n) for n in os.environ.get("LSTS_BENCH_PROJECTS", "50,200").split(","))
PROD_SIZE = 200
OBJECTS = tuple(int(n) for n in os.environ.get("LSTS_BENCH_OBJECTS", "10,2500").split(","))
REPEAT = int(os.environ.get("LSTS_BENCH_REPEAT", "3"))
REGIONS = 100_000
CHECK_OBJECTS = int(os.environ.get("LSTS_BENCH_CHECK_OBJECTS", "1000"))
PREDICTED_TASKS = 1000
GOALS = {"noop_plan_vs_read_floor": 1.2, "first_apply_vs_notebook": 1.1, "first_request_s": 0.3}
FIRST_REQUEST = re.compile(r"first request \(\w+\) at monotonic ([0-9.]+) after ([0-9.]+) s of CPU")
LS_REQUEST = re.compile(r"^DEBUG lsts_sync\.ls_http: (GET|HEAD) (/\S*)$")
S3_REQUEST = re.compile(r"^DEBUG lsts_sync\.live_s3: S3 (GET|HEAD) (\S+)$")


def timed(cmd: list[str], env: dict | None = None, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def spec_text(bucket: str, count: int, prefix: str = "bench") -> str:
    docs = ["kind: Instance\nname: local\nurl: ${LABEL_STUDIO_URL:-http://127.0.0.1:8080}\n"
            "token: ${LABEL_STUDIO_API_KEY:-x}\n",
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
    return {"help_s": timed(cli + ["--help"]), "validate_100_projects_s": timed(cli + ["validate", str(tmp / "startup")]),
            "imports": import_costs()}


def import_costs() -> dict:
    """CPU seconds each import adds to a bare interpreter (median of 5; CPU time, not wall time, so
    that other work on the machine inflates it less). label-studio-sdk: the client through its
    top-level name, and through the narrowest module path that still gives a working client."""
    def cpu(statement: str) -> float:
        times = []
        for _ in range(5):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            times.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return statistics.median(times)

    bare = cpu("pass")
    statements = {
        "label_studio_sdk_client": "from label_studio_sdk import LabelStudio",
        "label_studio_sdk_projects_only": "from label_studio_sdk.projects.client import ProjectsClient",
        "httpx": "import httpx", "boto3_client": "import boto3; boto3.session.Session().client('s3', "
        "region_name='us-east-1')", "pydantic": "import pydantic", "pandas": "import pandas",
        "deepdiff": "import deepdiff", "lsts_sync_plan_path": "import lsts_sync.cli.main, lsts_sync.plan.build, "
        "lsts_sync.live.gather, lsts_sync.live.label_studio, lsts_sync.live.s3, lsts_sync.plan.render",
    }
    costs = {f"{name}_cpu_s": round(cpu(statement) - bare, 3) for name, statement in statements.items()}
    loaded = subprocess.run([sys.executable, "-c", "import sys, lsts_sync.cli.main, lsts_sync.plan.build, lsts_sync.live.gather, "
                             "lsts_sync.live.label_studio, lsts_sync.live.s3, lsts_sync.plan.render; print(sorted({m.split('.')[0] "
                             "for m in sys.modules} & {'pandas', 'deepdiff', 'label_studio_sdk', 'numpy', 'rich', 'pygments'}))"],
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout.strip()
    return {"bare_interpreter_cpu_s": round(bare, 3), **costs, "heavy_modules_loaded_by_plan": loaded}


# -- reconcile --------------------------------------------------------------------------------------

def run_cli(args: list[str], env: dict) -> dict:
    """One lsts-sync process: wall and CPU seconds, stderr, and the request count of --stats."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    spawned = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "lsts_sync", *args, "--stats"], env=env, capture_output=True,
                            text=True, cwd=ROOT)
    wall = time.monotonic() - spawned
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    line = next(text for text in result.stderr.splitlines() if text.startswith("HTTP requests:"))
    first = FIRST_REQUEST.search(result.stderr)
    return {"s": wall, "cpu_s": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
            "requests": int(line.split()[2]), "line": line, "stderr": result.stderr,
            "first_request_s": float(first.group(1)) - spawned if first else None,
            "first_request_cpu_s": float(first.group(2)) if first else None}


def median_run(args: list[str], env: dict, repeat: int) -> dict:
    """``repeat`` runs; the one of median wall time."""
    runs = sorted((run_cli(args, env) for _ in range(repeat)), key=lambda r: r["s"])
    return runs[len(runs) // 2]


def prepare(state, projects: int, tmp: Path) -> tuple[Path, str, str]:
    """A fresh bucket with one week-long CSV per project and specs for ``projects`` projects."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    tag = f"{int(time.time() * 1000) % 10**9}"
    bucket = f"lsts-bench-{tag}"
    s3.create_bucket(Bucket=bucket)
    body = week_csv(1, minutes=60).encode()
    for i in range(projects):
        s3.put_object(Bucket=bucket, Key=f"p{i:03d}/week-01.csv", Body=body)
    specs = tmp / f"reconcile-{tag}"
    specs.mkdir()
    (specs / "specs.yaml").write_text(spec_text(bucket, projects, prefix=f"b{tag}"))
    return specs, bucket, tag


def reconcile(state, projects: int, tmp: Path, repeat: int = REPEAT) -> dict:
    """First apply vs the notebook way, no-op plan vs its read floor, on one running stack."""
    env = {**os.environ, **state.env()}
    specs, bucket, tag = prepare(state, projects, tmp)
    # The notebook's calls run just before and just after the apply (on fresh names each time) and
    # their mean is the reference: load from other work on the machine drifts over minutes.
    before_s, notebook_n = notebook_way(state, bucket, f"n{tag}", projects)
    apply = run_cli(["apply", str(specs), "--auto-approve"], env)
    after_s, _ = notebook_way(state, bucket, f"m{tag}", projects)
    notebook_s = (before_s + after_s) / 2
    plan = median_run(["plan", str(specs), "--detailed-exitcode"], env, repeat)  # exit 2 (a change) stops the bench
    sequential = median_run(["plan", str(specs), "--detailed-exitcode", "--parallelism", "1"], env, repeat)
    traced = run_cli(["--debug", "plan", str(specs), "--detailed-exitcode"], env)
    reads = plan_reads(traced["stderr"])
    floor = statistics.median(read_floor(state, reads) for _ in range(repeat))
    return {
        "projects": projects,
        "first_apply_s": round(apply["s"], 2), "first_apply_requests": apply["requests"],
        "notebook_s": round(notebook_s, 2), "notebook_before_after_s": [round(before_s, 2), round(after_s, 2)],
        "notebook_requests": notebook_n,
        "first_apply_vs_notebook": round(apply["s"] / notebook_s, 2),
        "noop_plan_s": round(plan["s"], 2), "noop_plan_cpu_s": round(plan["cpu_s"], 2),
        "noop_plan_requests": plan["requests"], "noop_plan_detail": plan["line"],
        "noop_plan_requests_by_kind": request_kinds(reads),
        "read_floor_s": round(floor, 2), "read_floor_requests": len(reads),
        "noop_plan_vs_read_floor": round(plan["s"] / floor, 2),
        "noop_plan_sequential_s": round(sequential["s"], 2),
        "parallel_vs_sequential": round(plan["s"] / sequential["s"], 2),
        "first_request_s": round(traced["first_request_s"], 3) if traced["first_request_s"] else None,
        "first_request_cpu_s": traced["first_request_cpu_s"],
        "goals": GOALS,
    }


def plan_reads(stderr: str) -> list[tuple[str, str]]:
    """The (method, URL) of every request the ``--debug`` plan made, in order (all are reads)."""
    reads = []
    for line in stderr.splitlines():
        if match := LS_REQUEST.match(line):
            reads.append((match.group(1), "LS" + match.group(2)))
        elif match := S3_REQUEST.match(line):
            reads.append((match.group(1), match.group(2)))
    return reads


def request_kinds(reads: list[tuple[str, str]]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for method, url in reads:
        if url.startswith("LS"):
            kind = "ls " + url[2:].split("?")[0].rstrip("/")
        else:
            query = url.split("?", 1)[1] if "?" in url else ""
            kind = "s3 " + ("cors" if "cors" in query else "list" if "list-type" in query else method.lower())
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def read_floor(state, reads: list[tuple[str, str]]) -> float:
    """Wall time of ``reads`` issued in sequence with plain httpx (one client, kept-alive
    connections), as fast as a client can ask them of these servers. moto's S3 server answers
    unsigned requests, so S3 reads need no signing here."""
    import httpx

    headers = {"Authorization": f"Token {state.token}"}
    with httpx.Client(timeout=120) as http:
        start = time.perf_counter()
        for method, url in reads:
            ls = url.startswith("LS")
            response = http.request(method, state.ls_url + url[2:] if ls else url, headers=headers if ls else None)
            if response.status_code >= 400 and not (not ls and response.status_code == 404):
                raise SystemExit(f"read floor: {method} {url} answered {response.status_code}")
        return time.perf_counter() - start


def notebook_way(state, bucket: str, prefix: str, projects: int) -> tuple[float, int]:
    """The notebook's calls for the same resources, in sequence, no reads, fresh names: per project
    create the project, its import storage and export storage, sync the import storage; once, put
    the bucket's CORS rule."""
    import boto3
    import httpx

    xml = subprocess.run([sys.executable, "-m", "lsts_sync", "render", str(ROOT / "specs"), "--project", "pump-7"],
                         capture_output=True, text=True, cwd=ROOT).stdout
    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    cors_bucket = f"{bucket}-{prefix}"  # its own bucket: PutBucketCors replaces lsts-sync's rule otherwise
    s3.create_bucket(Bucket=cors_bucket)  # (and connects before the clock starts: the notebook has a client)
    headers = {"Authorization": f"Token {state.token}"}
    keys = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench", "s3_endpoint": state.s3_url}
    requests = 0
    with httpx.Client(base_url=state.ls_url, headers=headers, timeout=120) as http:
        start = time.perf_counter()
        for i in range(projects):
            project = http.post("/api/projects/", json={"title": f"{prefix}-{i}", "label_config": xml}).json()
            storage = http.post("/api/storages/s3", json={
                "project": project["id"], "bucket": bucket, "prefix": f"p{i:03d}/", "regex_filter": ".*csv",
                "use_blob_urls": True, "presign": True, "presign_ttl": 30, **keys}).json()
            http.post("/api/storages/export/s3", json={"project": project["id"], "bucket": bucket,
                                                       "prefix": f"out/n{i:03d}", **keys}).raise_for_status()
            http.post(f"/api/storages/s3/{storage['id']}/sync").raise_for_status()
            requests += 4
        s3.put_bucket_cors(Bucket=cors_bucket, CORSConfiguration={"CORSRules": [
            {"ID": "notebook", "AllowedMethods": ["GET"], "AllowedOrigins": [state.ls_url], "AllowedHeaders": ["*"]}]})
        return time.perf_counter() - start, requests + 1


def objects_scale(state, objects: int, tmp: Path, repeat: int = REPEAT) -> dict:
    """One project whose source holds ``objects`` objects, all imported: what a no-op plan costs as
    the objects (and so the tasks) of one source grow (S3 listings and task lists are paged by 1,000)."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    env = {**os.environ, **state.env()}
    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    tag = f"{int(time.time() * 1000) % 10**9}"
    bucket = f"lsts-objects-{tag}"
    s3.create_bucket(Bucket=bucket)
    body = week_csv(1, minutes=60).encode()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"p000/f{i:05d}.csv", Body=body), range(objects)))
    specs = tmp / f"objects-{tag}"
    specs.mkdir()
    (specs / "specs.yaml").write_text(spec_text(bucket, 1, prefix=f"o{tag}"))
    apply = run_cli(["apply", str(specs), "--auto-approve"], env)
    plan = median_run(["plan", str(specs), "--detailed-exitcode"], env, repeat)
    traced = run_cli(["--debug", "plan", str(specs), "--detailed-exitcode"], env)
    return {"objects": objects, "first_apply_s": round(apply["s"], 2), "noop_plan_s": round(plan["s"], 2),
            "noop_plan_cpu_s": round(plan["cpu_s"], 2), "noop_plan_requests": plan["requests"],
            "noop_plan_requests_by_kind": request_kinds(plan_reads(traced["stderr"]))}


def bench_reconcile(state, tmp: Path) -> dict:
    """Every size on the running (dev) stack (the production-like stack is its own part, ``bench_prod``)."""
    results = {"dev": {f"n{n}": reconcile(state, n, tmp) for n in SIZES}}
    results["dev"]["one_project_by_objects"] = [objects_scale(state, n, tmp) for n in OBJECTS]
    return results


def bench_prod(tmp: Path) -> dict:
    """N = PROD_SIZE on the production-like stack (gunicorn + PostgreSQL), started and stopped here,
    when tools/stack.py offers ``up(name, flavour="prod")``; otherwise says why it was skipped."""
    if "flavour" not in inspect.signature(stack_tool.up).parameters:
        return {"skipped": "tools/stack.py has no production-like flavour (up(name, flavour='prod'))"}
    state = stack_tool.up("bench-prod", flavour="prod")
    try:
        return {f"n{PROD_SIZE}": reconcile(state, PROD_SIZE, tmp)}
    finally:
        stack_tool.down("bench-prod")


def bench_export(state, env: dict, tmp: Path) -> dict:
    """A project of REGIONS labeled regions on the stack, exported as ``export`` does it: the
    snapshot downloaded, then decoded, flattened and sorted (``read_annotations``) and written
    (``outputs_for``, a ``table`` and a ``lookout`` output). Wall time of the download, CPU time of
    the transformation (median of REPEAT), and the transformation's peak memory (tracemalloc)."""
    from label_studio_sdk import LabelStudio

    from lsts_sync.core.stats import RequestStats
    from lsts_sync.labels.annotations import outputs_for, read_annotations
    from lsts_sync.live.label_studio import LabelStudioInstance
    from lsts_sync.spec.loader import load_specs

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
    users = instance.users()
    pump = specs.projects["pump-7"]

    def transform(tasks) -> int:
        """read_annotations + outputs_for, as ``export`` runs them; the table's size in bytes."""
        annotations = read_annotations(tasks, "bench", "latest", users)
        table = outputs_for(specs.exports["pump-7-table"], pump, annotations)
        outputs_for(specs.exports["pump-7-lookout"], pump, annotations)
        return len(table[0].data)

    downloads, transforms = [], []
    for _ in range(REPEAT):
        start = time.perf_counter()
        stream = instance.export_tasks(project.id, "bench")  # downloaded here; decoded as it is read
        downloads.append(time.perf_counter() - start)
        start = time.process_time()
        table_bytes = transform(stream)
        transforms.append(time.process_time() - start)
    stream = instance.export_tasks(project.id, "bench")
    tracemalloc.start()
    transform(stream)
    _, transform_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"regions": REGIONS, "create_annotations_s": created, "download_s": statistics.median(downloads),
            "decode_flatten_sort_write_cpu_s": statistics.median(transforms), "runs": REPEAT,
            "transform_peak_mb": transform_peak / 2**20, "table_bytes": table_bytes}


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
    local server by lsts-sync's transport into a temporary file (wall time), then the transform as
    ``export`` runs it: decoded one task at a time, flattened and sorted (``read_annotations``) and
    written as CSV bytes (``outputs_for``), in CPU time of this process (other processes on the
    machine take less from it than from wall time). Medians of REPEAT runs. Goals: the transform at
    least 150 MB/s of snapshot JSON; peak memory of download and transform (tracemalloc, a run of
    its own since tracing slows allocation) at most 2x the output CSV, and Arrow's own peak beside it."""
    from lsts_sync.core.stats import RequestStats
    from lsts_sync.labels.annotations import outputs_for, read_annotations
    from lsts_sync.live.label_studio import LabelStudioInstance
    from lsts_sync.spec.loader import load_specs
    from lsts_sync.spec.models import ExportSpec

    size = snapshot_json(tmp / "snapshot.json", 1000, MILLION // 1000)
    server = SnapshotServer(tmp / "snapshot.json")
    specs, _ = load_specs([str(ROOT / "specs")], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    instance = LabelStudioInstance(specs.instances["local"].model_copy(update={"url": server.url}), RequestStats())
    export = ExportSpec(kind="Export", name="bench", project="pump-7", output=str(tmp / "regions.csv"))
    project = specs.projects["pump-7"]

    def run() -> tuple[float, float, float, int]:
        """Wall seconds of the download; CPU seconds of decode + flatten + sort, and of the CSV; CSV bytes."""
        start = time.perf_counter()
        tasks = instance.export_tasks(1, "bench")  # the download, into a temporary file; decoded as read
        download = time.perf_counter() - start
        start = time.process_time()
        annotations = read_annotations(tasks, "bench", "latest", {1: "admin@example.com"})
        read = time.process_time() - start
        start = time.process_time()
        (output,) = outputs_for(export, project, annotations)
        return download, read, time.process_time() - start, len(output.data)

    try:
        runs = [run() for _ in range(REPEAT)]
        tracemalloc.start()
        run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        server.close()
    download_s, read_s, csv_s = (statistics.median(r[i] for r in runs) for i in range(3))
    transform_s = statistics.median(r[1] + r[2] for r in runs)
    csv_bytes = runs[0][3]
    return {"regions": MILLION, "snapshot_mb": size / 2**20, "runs": REPEAT, "download_s": download_s,
            "decode_flatten_sort_cpu_s": read_s, "csv_cpu_s": csv_s, "transform_cpu_s": transform_s,
            "transform_mb_per_s": size / 1e6 / transform_s, "goal_mb_per_s": 150,
            "transform_to_download": transform_s / download_s,
            "peak_mb": peak / 2**20, "output_csv_mb": csv_bytes / 2**20, "peak_to_output": peak / csv_bytes,
            "goal_peak_to_output": 2.0, "arrow_pool_peak_mb": _arrow_peak() / 2**20}


def _arrow_peak() -> int:
    """The most memory Arrow's pool has held at once in this process (tracemalloc does not see it;
    the pool's peak cannot be reset, so this bounds what the export's CSV writer held)."""
    import pyarrow as pa

    return pa.default_memory_pool().max_memory() or 0


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

    from lsts_sync.core.stats import RequestStats
    from lsts_sync.labels.annotations import read_annotations
    from lsts_sync.labels.dense import dense_outputs
    from lsts_sync.live.s3 import S3Buckets
    from lsts_sync.spec.loader import load_specs
    from lsts_sync.spec.models import BucketSpec, ExportSpec

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
    outputs = dense_outputs(export, specs.projects["pump-7"], annotations, store.read_bytes, buckets, lambda _line: None)
    with_s3 = time.perf_counter() - start
    assert sum(o.rows for o in outputs) == rows
    out_bytes = sum(len(o.data) for o in outputs)
    del outputs
    start = time.perf_counter()
    dense_outputs(export, specs.projects["pump-7"], annotations, lambda b, k: body, buckets, lambda _line: None)
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
    children, server = resource.getrusage(resource.RUSAGE_CHILDREN), process_cpu(state.pids.get("s3"))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "lsts_sync", "check", str(specs), "--max-rows", "1000000"],
                            env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"check failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = len(body) * CHECK_OBJECTS
    return {"objects": CHECK_OBJECTS, "megabytes": total / 1e6, "seconds": elapsed,
            "mb_per_s": total / 1e6 / elapsed, "goal_mb_per_s": 150,
            "command_cpu_s": used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime,
            "s3_server_cpu_s": process_cpu(state.pids.get("s3")) - server,
            "summary": result.stderr.strip().splitlines()[-1]}


def process_cpu(pid: int | None) -> float:
    """CPU seconds a process has used so far (0 when unknown: a stack that is not on this machine)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cli_stats(args: list[str], env: dict) -> tuple[float, int, str]:
    """Run ``lsts-sync ARGS --stats``; returns wall seconds, the request count and the stats line."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "lsts_sync", *args, "--stats"], env=env, capture_output=True,
                            text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{result.stdout}\n{result.stderr}")
    line = next(text for text in result.stderr.splitlines() if text.startswith("HTTP requests:"))
    return elapsed, int(line.split()[2]), line


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


REPORT_TASKS, REPORT_REGIONS = 1000, 10


def report_regions(shift: int) -> list[tuple[str, str, str]]:
    """REPORT_REGIONS (start, end, label) over a 12-hour series, ``shift`` minutes later; one an instant."""
    def at(minute: int) -> str:
        return f"2021-01-01 {minute // 60:02d}:{minute % 60:02d}:00"

    return [(at(60 * j + 5 + shift), at(60 * j + 5 + shift + (0 if j == 9 else 20)), "Anomaly" if j % 2 else
             "Maintenance") for j in range(REPORT_REGIONS)]


def bench_report(state, env: dict, tmp: Path) -> dict:
    """``lsts-sync report --json`` on REPORT_TASKS tasks imported with their annotations in one request
    (into a project apply made), two predictions files, the source files on the stack's S3 server."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3
    from label_studio_sdk import LabelStudio

    from lsts_sync.labels.predictions import load_predictions
    from lsts_sync.labels.report import measure, prediction_regions, project_report, read_labels
    from lsts_sync.live.connections import Connections
    from lsts_sync.spec.loader import load_specs

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    bucket = f"lsts-report-{int(time.time())}"
    s3.create_bucket(Bucket=bucket)
    body = week_csv(1, minutes=720).encode()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"rep/{i:04d}.csv", Body=body), range(REPORT_TASKS)))
    specs = tmp / "report"
    specs.mkdir()
    name = f"report-{bucket.rsplit('-', 1)[1]}"
    (specs / "specs.yaml").write_text(spec_text(bucket, 0) + f"""---
kind: Project
name: {name}
instance: local
source: {{bucket: {bucket}, prefix: rep/, sync: false}}  # the tasks come with their annotations below
timeseries:
  time_column: timestamp
  time_format: '%Y-%m-%d %H:%M:%S'
  channels: [{{column: vibration}}, {{column: temperature}}, {{column: pressure}}]
labels: [{{value: Anomaly}}, {{value: Maintenance}}]
""")
    cli_stats(["apply", str(specs), "--auto-approve"], env)  # the project, without tasks
    ls = LabelStudio(base_url=state.ls_url, api_key=state.token, timeout=600)
    project = next(p for p in ls.projects.list(page_size=1000, include="id,description")
                   if (p.description or "").endswith(f"name={name}"))
    second = ls.users.create(username=f"second-{name}", email=f"second-{name}@example.com", password="x-" + name)

    def result(shift: int) -> list[dict]:
        return [{"from_name": "label", "to_name": "ts", "type": "timeserieslabels", "value": {
            "start": s, "end": e, "instant": s == e, "timeserieslabels": [label]}} for s, e, label in report_regions(shift)]

    ls.projects.import_tasks(id=project.id, request=[{
        "data": {"csv": f"s3://{bucket}/rep/{i:04d}.csv"},
        "annotations": [{"result": result(0)}] + ([{"result": result(1), "completed_by": second.id}] if i % 10 == 0
                                                   else [])} for i in range(REPORT_TASKS)])
    for version, shift in (("v1", 3), ("v2", 12)):
        rows = ["file,start,end,label"] + [f"rep/{i:04d}.csv,{s},{e},{label}" for i in range(REPORT_TASKS)
                                            for s, e, label in report_regions(shift)]
        (specs / f"{version}.csv").write_text("\n".join(rows) + "\n")
        with open(specs / "specs.yaml", "a") as file:
            file.write(f"---\nkind: Predictions\nname: {version}\nproject: {name}\nmodel_version: {version}\n"
                       f"file: {version}.csv\n")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lsts_sync", "report", str(specs), "--json"], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    command_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"report failed:\n{done.stderr[-2000:]}")
    found = json.loads(done.stdout)["projects"][name]

    loaded, _ = load_specs([str(specs)], env=env)
    conn = Connections.open(loaded)
    start = time.perf_counter()
    progress, tasks = read_labels(conn.instances["local"].export_tasks(project.id, name, all_tasks=True), name, {})
    download_s = time.perf_counter() - start
    models = {p.model_version: prediction_regions(p, name) for p in load_predictions(loaded, conn.s3).values()}
    start = time.process_time()
    objects = measure(loaded.projects[name], tasks, models, lambda b, k: body, {bucket}, 0.5)
    project_report(loaded.projects[name], progress, objects, list(models), 0.5)
    measure_cpu_s = time.process_time() - start
    return {"tasks": REPORT_TASKS, "regions_per_task": REPORT_REGIONS, "rows_per_task": 720, "model_versions": 2,
            "command_s": command_s, "snapshot_download_and_read_s": download_s,
            "measure_in_memory_cpu_s": measure_cpu_s,
            "v1_event_f1": found["models"]["v1"]["all"]["event"]["f1"],
            "v2_event_f1": found["models"]["v2"]["all"]["event"]["f1"], "agreement": found["agreement"]}


def run_parts(parts: list[tuple[str, Callable[[], dict]]]) -> tuple[dict, list[str]]:
    """Run each ``(name, part)`` in order; a part that fails (an exception, or SystemExit from a
    failed command) gives ``{"failed": one line}`` and the next part runs. Returns the figures by
    name and the names that failed, so every part that ran is printed."""
    results: dict = {}
    failed: list[str] = []
    for name, part in parts:
        try:
            results[name] = part()
        except (Exception, SystemExit) as exc:  # noqa: BLE001  (one part's failure must not lose the others' figures)
            failed.append(name)
            results[name] = {"failed": " ".join(f"{type(exc).__name__}: {exc}".split())[:2000]}
            print(f"bench: {name} failed: {type(exc).__name__}", file=sys.stderr, flush=True)
    return results, failed


def _bench_rename(state, env: dict, tmp: Path) -> dict:
    """The rename part lives in bench/rename.py (run as a script, bench/ is on sys.path)."""
    from rename import bench_rename

    return bench_rename(state, env, tmp)


def bench_windows_part(state, tmp: Path) -> dict:
    """Part 10, on the stack's S3 server for the transfer (bench/windows.py has the rest)."""
    import boto3

    sys.path.insert(0, str(ROOT / "bench"))
    from windows import bench_windows

    client = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    bucket = f"lsts-bench-windows-{int(time.time() * 1000) % 10**9}"
    client.create_bucket(Bucket=bucket)
    return bench_windows(tmp, int(os.environ.get("LSTS_BENCH_WINDOW_MB", "1024")), client, bucket)


def bench_page_part(state, env: dict, tmp: Path) -> dict:
    """Part 11: the labeling page in Chromium (bench/page.py; needs Playwright and LSTS_CHROMIUM or
    Debian's /usr/lib/chromium/chromium)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from page import bench_page

    return bench_page(state, env, tmp)


def main() -> None:
    only = set(os.environ.get("LSTS_BENCH_ONLY", ",".join(PARTS)).split(","))
    reuse = os.environ.get("LSTS_STACK_NAME")
    state = stack_tool.load_state(reuse) if reuse else stack_tool.up("bench")
    env = {**os.environ, **state.env()}
    os.environ.update(state.env())
    results: dict = {}
    failed: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            wanted = {
                "startup": [("startup", lambda: bench_startup(tmp))],
                "reconcile": [("reconcile", lambda: bench_reconcile(state, tmp)),
                              ("reconcile_prod", lambda: bench_prod(tmp))],
                "export": [("export_100k_regions", lambda: bench_export(state, env, tmp)),
                           ("export_1m_regions_table", lambda: bench_export_million(tmp)),
                           ("export_dense", lambda: bench_dense(state, env, tmp))],
                "check": [("check_every_row", lambda: bench_check(state, env, tmp))],
                "predictions": [("predictions_1000_tasks", lambda: bench_predictions(state, env, tmp))],
                "report": [("report_1000_tasks", lambda: bench_report(state, env, tmp))],
                "rename": [("rename_10k_regions", lambda: _bench_rename(state, env, tmp))],
                "windows": [("windows", lambda: bench_windows_part(state, tmp))],
                "page": [("page", lambda: bench_page_part(state, env, tmp))],
            }
            results, failed = run_parts([part for group in PARTS if group in only for part in wanted[group]])
    finally:
        if not reuse:
            stack_tool.down("bench")
        print(json.dumps(results, indent=2))
    if failed:
        raise SystemExit(f"bench: {len(failed)} part(s) failed: {', '.join(failed)} (the figures above are the "
                         "parts that ran)")


if __name__ == "__main__":
    main()
