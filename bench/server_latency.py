"""Latency of the two reads a no-op plan repeats most, on a running stack, sequential and concurrent.

    LSTS_STACK_NAME=NAME .venv/bin/python bench/server_latency.py [--projects 50] [--clients 8]

Creates ``--projects`` projects (title, description, a time-series template) and one S3 import storage
on the stack, then times ``GET /api/projects/?page_size=1000&include=id,title,description,label_config``
and ``GET /api/storages/s3?project=ID``: one client after another, then ``--clients`` clients at once
(a thread and a connection each). Prints JSON: median and 90th percentile latency in ms and the
requests per second of each case. Deletes what it created. It informs the default of lsts-sync's
parallel reads: if concurrent clients raise throughput, the server has the workers to use them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import stack as stack_tool  # noqa: E402

TEMPLATE = """<View><TimeSeries name="ts" value="$csv" valueType="url" timeColumn="timestamp">
<Channel column="vibration"/></TimeSeries>
<TimeSeriesLabels name="label" toName="ts"><Label value="Anomaly"/></TimeSeriesLabels></View>"""


def set_up(client: httpx.Client, state: stack_tool.StackState, count: int, tag: str) -> list[int]:
    """``count`` projects and one storage on the first; returns the project ids."""
    ids = []
    for number in range(count):
        response = client.post("/api/projects/", json={"title": f"lat {tag} {number}",
                                                       "description": "latency probe", "label_config": TEMPLATE})
        response.raise_for_status()
        ids.append(response.json()["id"])
    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1",
                      aws_access_key_id="testing-key-id", aws_secret_access_key="testing-secret-key")
    bucket = f"lsts-latency-{tag}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="data/a.csv", Body=b"timestamp,vibration\n1,2\n")
    client.post("/api/storages/s3", json={
        "project": ids[0], "bucket": bucket, "prefix": "data/", "regex_filter": r"data/.*\.csv$",
        "use_blob_urls": True, "s3_endpoint": state.s3_url, "region_name": "us-east-1",
        "aws_access_key_id": "testing-key-id", "aws_secret_access_key": "testing-secret-key"}).raise_for_status()
    return ids


def timed(client: httpx.Client, path: str, times: int) -> list[float]:
    """Latencies in ms of ``times`` GETs of ``path``, each checked for 200."""
    latencies = []
    for _ in range(times):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def run_case(state: stack_tool.StackState, path: str, clients: int, per_client: int) -> dict[str, float]:
    """``clients`` threads, each with its own connection, each timing ``per_client`` requests."""
    results: list[list[float]] = [[] for _ in range(clients)]

    def worker(slot: int) -> None:
        with _client(state) as client:
            client.get(path).raise_for_status()  # connection set up outside the timing
            results[slot] = timed(client, path, per_client)

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies = sorted(value for slot in results for value in slot)
    if len(latencies) != clients * per_client:
        raise SystemExit(f"{path}: some clients failed")
    return {"median_ms": round(statistics.median(latencies), 1),
            "p90_ms": round(latencies[int(len(latencies) * 0.9) - 1], 1),
            "requests_per_s": round(len(latencies) / elapsed, 1)}


def _client(state: stack_tool.StackState) -> httpx.Client:
    return httpx.Client(base_url=state.ls_url, headers={"Authorization": f"Token {state.token}"}, timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=40, help="per case, split among the clients")
    args = parser.parse_args()
    name = os.environ.get("LSTS_STACK_NAME", "default")
    state = stack_tool.load_state(name)
    if state is None:
        raise SystemExit(f"stack {name} is not running: python3 tools/stack.py up --name {name}")
    tag = uuid.uuid4().hex[:8]
    with _client(state) as client:
        ids = set_up(client, state, args.projects, tag)
        try:
            paths = {"projects": "/api/projects/?page_size=1000&include=id,title,description,label_config",
                     "storages": f"/api/storages/s3?project={ids[0]}"}
            out = {"stack": name, "flavour": state.flavour, "projects_on_server": len(ids), "clients": args.clients}
            for what, path in paths.items():
                out[what] = {"sequential": run_case(state, path, 1, args.requests),
                             f"{args.clients}_clients": run_case(state, path, args.clients,
                                                                 max(1, args.requests // args.clients) * 2)}
        finally:
            for project in ids:
                client.delete(f"/api/projects/{project}/")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
