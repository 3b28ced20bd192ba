#!/usr/bin/env python3
"""Stress: many applies at once against one loaded Label Studio; after every apply each spec must
have exactly one project and one storage (``make stress``; minutes, so not part of ``make test``).

``--workers`` apply processes run side by side, each with an owner of its own (so they do not wait
on one another's apply lock), each repeating: write specs of ``--projects`` new projects (each with
an export storage, whose create makes Label Studio write too), apply them, count every marked
project and storage on the server, then apply an empty spec set with ``--prune``. ``--readers``
threads list every project with its counts meanwhile. On the dev flavour (SQLite) this is the load
under which Label Studio answered a project create with 500 after saving it, and ran requests again.

Prints one JSON line per failed or duplicated apply and a summary; exits 1 if any apply left a
duplicate (a failed apply alone is reported, not a failure of the run: a loaded server may refuse).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import stack as stack_tool  # noqa: E402

HEAD = """\
kind: Instance
name: local
url: ${{LABEL_STUDIO_URL}}
token: ${{LABEL_STUDIO_API_KEY}}
owner: {owner}
---
kind: Bucket
name: {bucket}
endpoint_url: ${{S3_ENDPOINT_URL}}
"""
PROJECT = """\
---
kind: Project
name: {name}
instance: local
title: Stress {owner} {name}
target: {{bucket: {bucket}, prefix: out/{owner}/{name}/}}
timeseries: {{time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: [{{column: v}}]}}
labels: [{{value: Anomaly}}]
"""
MARKER = re.compile(r"managed-by: lsts-sync owner=(\S+) name=(\S+)")
UNDONE = re.compile(r"the server saved it (\d+) times")


def marked(client: httpx.Client, path: str, **params: object) -> Counter[tuple[str, str]]:
    """How many items of a list endpoint carry each (owner, name) marker (every page)."""
    found: Counter[tuple[str, str]] = Counter()
    page = 1
    while True:
        answer = client.get(path, params={**params, "page": page, "page_size": 100})
        answer.raise_for_status()
        data = answer.json()
        items = data if isinstance(data, list) else data["results"]
        for item in items:
            match = MARKER.search(item.get("description") or "")
            if match:
                found[(match.group(1), match.group(2))] += 1
        if isinstance(data, list) or not data.get("next"):
            return found
        page += 1


def apply(folder: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lsts_sync", "apply", str(folder), "--auto-approve", *extra],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)


class Worker:
    def __init__(self, owner: str, bucket: str, env: dict[str, str], client: httpx.Client, projects: int) -> None:
        self.owner, self.bucket, self.env, self.client, self.projects = owner, bucket, env, client, projects
        self.folder = Path(tempfile.mkdtemp(prefix=f"lsts-stress-{owner}-"))
        self.applies = self.failed = self.undone = 0
        self.duplicates: list[dict[str, object]] = []

    def write(self, names: list[str]) -> None:
        text = HEAD.format(owner=self.owner, bucket=self.bucket)
        text += "".join(PROJECT.format(name=n, owner=self.owner, bucket=self.bucket) for n in names)
        (self.folder / "specs.yaml").write_text(text)

    def round(self, index: int) -> None:
        names = [f"{self.owner}-r{index}-p{k}" for k in range(self.projects)]  # an owner sees others by name
        self.write(names)
        result = apply(self.folder, self.env)
        self.applies += 1
        self.undone += sum(int(n) - 1 for n in UNDONE.findall(result.stderr))
        if result.returncode != 0:
            self.failed += 1
            print(json.dumps({"owner": self.owner, "round": index, "failed": result.stderr.strip().splitlines()[-1:]}),
                  flush=True)
        projects = marked(self.client, "api/projects/", include="id,description")
        for name in names:
            count = projects[(self.owner, name)]
            if count > 1:
                self.duplicates.append({"owner": self.owner, "round": index, "project": name, "count": count})
        self._check_storages(index, names)
        self.write([])
        apply(self.folder, self.env, "--prune")

    def _check_storages(self, index: int, names: list[str]) -> None:
        ids = {}
        answer = self.client.get("api/projects/", params={"page_size": 100, "include": "id,description",
                                                          "title": f"Stress {self.owner} {self.owner}-r{index}-"})
        for item in answer.json()["results"]:
            match = MARKER.search(item.get("description") or "")
            if match and match.group(1) == self.owner:
                ids[match.group(2)] = item["id"]
        for name in names:
            if name in ids:
                count = marked(self.client, "api/storages/export/s3", project=ids[name])[(self.owner, f"{name}/target")]
                if count > 1:
                    self.duplicates.append({"owner": self.owner, "round": index, "storage": name, "count": count})


def readers(client: httpx.Client, stop: threading.Event) -> int:
    """List every project with its counts (the expensive list) until told to stop."""
    reads = 0
    while not stop.is_set():
        try:
            client.get("api/projects/", params={"page_size": 100}, timeout=120)
            reads += 1
        except httpx.HTTPError:
            pass
    return reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavour", choices=("dev", "prod"), default="dev")
    parser.add_argument("--applies", type=int, default=200, help="creating applies in all (each also prunes)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--projects", type=int, default=2, help="projects per spec set")
    parser.add_argument("--readers", type=int, default=2)
    args = parser.parse_args()
    name = f"stress-{args.flavour}"
    stack_tool.down(name)
    shutil.rmtree(stack_tool.STACK / name, ignore_errors=True)  # a fresh server: nothing left by an earlier run
    state = stack_tool.up(name, ls_port=0, s3_port=0, flavour=args.flavour)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LABEL_STUDIO_"))}, **state.env()}
    bucket = f"stress-{int(time.time())}"
    boto3.client("s3", endpoint_url=state.s3_url, aws_access_key_id="testing-key-id",
                 aws_secret_access_key="testing-secret-key", region_name="us-east-1").create_bucket(Bucket=bucket)
    client = httpx.Client(base_url=state.ls_url, headers={"Authorization": f"Token {state.token}"}, timeout=120)
    workers = [Worker(f"stress{w}", bucket, env, client, args.projects) for w in range(args.workers)]
    rounds = -(-args.applies // args.workers)
    stop, start = threading.Event(), time.monotonic()
    try:
        with ThreadPoolExecutor(args.workers + args.readers) as pool:
            reading = [pool.submit(readers, client, stop) for _ in range(args.readers)]
            running = [pool.submit(lambda w: [w.round(i) for i in range(rounds)], w) for w in workers]
            for future in running:
                future.result()
            stop.set()
            reads = sum(f.result() for f in reading)
    finally:
        stop.set()
        stack_tool.down(name)
    duplicates = [d for w in workers for d in w.duplicates]
    for duplicate in duplicates:
        print(json.dumps({"duplicate": duplicate}), flush=True)
    print(json.dumps({"flavour": args.flavour, "applies": sum(w.applies for w in workers),
                      "prunes": sum(w.applies for w in workers), "failed": sum(w.failed for w in workers),
                      "duplicates_left": len(duplicates), "server_repeats_undone": sum(w.undone for w in workers),
                      "reads_meanwhile": reads, "seconds": round(time.monotonic() - start, 1)}))
    sys.exit(1 if duplicates else 0)


if __name__ == "__main__":
    main()
