"""`make bench`, page part: the labeling page of a whole 2.6-million-row object next to one 6-hour window.

One object of 30 days at 1 Hz with 4 channels (2,592,000 rows, about 106 MB of CSV, the series of
bench/windows.py) is uploaded to the stack's S3 server, and two projects read it, both applied
through the CLI in one apply: one without a window (the object is one task) and one with
``window: {duration: 6h, overlap: 10m}`` (120 window files of 22,200 rows). Debian's Chromium,
driven by Playwright, then opens the labeling page of one window's task and of the whole object's
task, each in a fresh logged-in browser context, and times each from navigation until the chart is
drawn (CAP_S at most; the whole object is reported as "did not draw within 120 s" if it never does;
a wait cannot end while a task holds the page's main thread, so it may stop some seconds past the
cap, and a chart first seen then counts as not drawn: ``verdict``).

*Drawn* means (DRAWN_JS, polled every 100 ms): the page has one ``.htx-timeseries-channel`` per
channel and each holds a stroked ``path`` whose ``d`` has at least MIN_SEGMENTS line segments, and
``.lsf-errors`` holds no text (an error, e.g. "timeColumn (timestamp) cannot be parsed", ends the
wait at once and is reported). Also reported: when each fetch of the object's (or window's) S3 URL
finished, the peak resident memory of Chromium's renderer processes while waiting (read from /proc
every second), and, once drawn, the page's JavaScript heap (CDP ``Performance.getMetrics``) and its
longest task (the Long Tasks API: how long the page could not answer a click or a key).

Run alone on a running stack: ``LSTS_STACK_NAME=NAME .venv/bin/python bench/page.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tools", ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

CAP_S = 120.0
CHANNELS = 4
MIN_SEGMENTS = 50
OPENED_WINDOW = "20260110T060000Z.csv"  # a window in the middle of the month, as tests/test_browser.py opens
DRAWN_JS = """([n, minSegments]) => {
  const errors = [...document.querySelectorAll('.lsf-errors')].map(e => e.textContent.trim()).join(' ');
  if (errors) return 'error: ' + errors.slice(0, 300);
  const channels = [...document.querySelectorAll('.htx-timeseries-channel')];
  const drawn = channels.filter(c => [...c.querySelectorAll('path[stroke]')].some(
    p => ((p.getAttribute('d') || '').match(/L/g) || []).length >= minSegments));
  return channels.length === n && drawn.length === n ? 'drawn' : false;
}"""
# every task that held the page's main thread over 50 ms (Chromium's Long Tasks API), from navigation on
LONG_TASKS_JS = """window.__lstsLongTasks = [];
try { new PerformanceObserver(list => list.getEntries().forEach(e => window.__lstsLongTasks.push(e.duration)))
        .observe({type: 'longtask', buffered: true}); } catch (e) {}"""


def descendants(parents: dict[int, int], root: int) -> set[int]:
    """The processes below ``root`` in a {pid: parent pid} map (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def renderer_rss_mb(root: int | None = None) -> float:
    """The resident memory of the largest Chromium renderer process started below ``root`` (this
    process by default), in MB; 0 when there is none."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    largest = 0.0
    for pid in descendants(parents, root or os.getpid()):
        try:
            if b"--type=renderer" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        largest = max(largest, rss / 1024)
    return largest


def summary(window: dict, whole: dict, cap_s: float = CAP_S) -> dict:
    """Both times side by side: their ratio when both drew, else what the whole object's page did."""
    def said(page: dict) -> str:
        if page["outcome"] == "drawn":
            return f"{page['drawn_s']:.1f} s"
        if page["outcome"] == "timeout":
            return f"did not draw within {cap_s:.0f} s"
        return page["outcome"]

    line = f"whole object: {said(whole)}; one window: {said(window)}"
    ratio = None
    if whole["outcome"] == window["outcome"] == "drawn":
        ratio = round(whole["drawn_s"] / window["drawn_s"], 1)
        line += f" ({ratio}x)"
    return {"whole_vs_window": ratio, "line": line}


def spec_text(bucket: str, whole: str, windowed: str) -> str:
    """An instance, the bucket, and the two projects over ``raw/`` (the same 4 channels)."""
    project = """---
kind: Project
name: {name}
instance: local
source:
  bucket: {bucket}
  prefix: raw/
  pattern: '.*\\.csv'{window}
timeseries:
  time_column: timestamp
  time_format: '%Y-%m-%d %H:%M:%S'
  channels: [{{column: vibration}}, {{column: temperature}}, {{column: pressure}}, {{column: flow}}]
labels: [{{value: Anomaly}}, {{value: Maintenance}}]
"""
    return (f"kind: Instance\nname: local\nurl: ${{LABEL_STUDIO_URL}}\ntoken: ${{LABEL_STUDIO_API_KEY}}\n"
            f"---\nkind: Bucket\nname: {bucket}\nendpoint_url: ${{S3_ENDPOINT_URL}}\n"
            + project.format(name=whole, bucket=bucket, window="")
            + project.format(name=windowed, bucket=bucket, window="\n  window: {duration: 6h, overlap: 10m}"))


def task_of(state, name: str, key_end: str) -> tuple[int, int, str]:
    """(project id, task id, S3 key) of project ``name``'s task whose key ends with ``key_end``."""
    from labeling_page import api

    projects = api(state, "/api/projects/?page_size=1000&include=id,description")["results"]
    project = next(p["id"] for p in projects if (p["description"] or "").endswith(f"name={name}"))
    tasks = api(state, f"/api/tasks/?project={project}&page_size=1000&include=id,storage_filename")["tasks"]
    task = next(t for t in tasks if (t["storage_filename"] or "").endswith(key_end))
    return project, task["id"], task["storage_filename"]


def prepare(state, env: dict, tmp: Path) -> dict:
    """Upload the month, apply both projects through the CLI; the tasks to open and their sizes."""
    import boto3
    from windows import DAY, write_csv

    s3 = boto3.client("s3", endpoint_url=state.s3_url, region_name="us-east-1")
    tag = f"{int(time.time() * 1000) % 10**9}"
    bucket = f"lsts-bench-page-{tag}"
    s3.create_bucket(Bucket=bucket)
    month = write_csv(tmp / "month.csv", 30)
    s3.upload_file(str(month), bucket, "raw/month.csv")
    specs = tmp / f"page-{tag}"
    specs.mkdir()
    whole, windowed = f"page-whole-{tag}", f"page-window-{tag}"
    (specs / "specs.yaml").write_text(spec_text(bucket, whole, windowed))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lsts_sync", "apply", str(specs), "--auto-approve"], env=env,
                          capture_output=True, text=True, cwd=ROOT)
    apply_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"apply failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    whole_task = task_of(state, whole, "raw/month.csv")
    window_task = task_of(state, windowed, OPENED_WINDOW)
    window_body = s3.get_object(Bucket=bucket, Key=window_task[2])["Body"].read()
    windows = s3.list_objects_v2(Bucket=bucket, Prefix=window_task[2].rsplit("/", 1)[0] + "/")["KeyCount"] - 1
    return {"whole_task": whole_task, "window_task": window_task, "apply_both_s": round(apply_s, 1),
            "object": {"key": "raw/month.csv", "rows": 30 * DAY, "channels": CHANNELS,
                       "mb": round(month.stat().st_size / 2**20, 1)},
            "window": {"key": window_task[2], "rows": window_body.count(b"\n") - 1,
                       "mb": round(len(window_body) / 2**20, 2), "windows_of_the_object": windows}}


def verdict(found: str, elapsed_s: float, cap_s: float, crashed: bool) -> str:
    """What a page did: ``found`` (``drawn``, ``timeout``, ``error: ...``, ``page error: ...``) unless
    the page crashed, or it drew only after the cap (a wait cannot end while a long task holds the
    page, so it may return past the cap: too late all the same)."""
    if crashed:
        return "crashed"
    return "timeout" if found == "drawn" and elapsed_s > cap_s else found


def wait_drawn(page, start: float, cap_s: float, crashed: list[bool]) -> tuple[str, float]:
    """Poll DRAWN_JS until it answers, the page fails or ``cap_s`` has passed since ``start``;
    the answer (``timeout`` when none) and the renderers' peak memory sampled between polls."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    peak = renderer_rss_mb()
    while (left := cap_s - (time.monotonic() - start)) > 0 and not crashed:
        try:
            return page.wait_for_function(DRAWN_JS, arg=[CHANNELS, MIN_SEGMENTS], polling=100,
                                          timeout=min(1000, left * 1000)).json_value(), peak
        except PlaywrightTimeout:
            peak = max(peak, renderer_rss_mb())
        except PlaywrightError as exc:  # the page crashed or closed
            return f"page error: {str(exc).splitlines()[0][:200]}", peak
    return "timeout", peak


def page_costs(context, page) -> dict:
    """A drawn page's JavaScript heap (CDP) and its long tasks (LONG_TASKS_JS), in MB and seconds."""
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    tasks = page.evaluate("() => window.__lstsLongTasks || []")
    return {"js_heap_used_mb": round(metrics["JSHeapUsedSize"] / 2**20),
            "longest_task_s": round(max(tasks, default=0) / 1000, 1), "long_tasks_s": round(sum(tasks) / 1000, 1)}


def time_page(browser, state, project: int, task: int, key: str, cap_s: float = CAP_S) -> dict:
    """Open the task's labeling page in a fresh logged-in context; seconds from navigation until
    DRAWN_JS holds (or what stopped it), the object's S3 fetches and the renderer's memory."""
    from labeling_page import log_in

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(LONG_TASKS_JS)
    try:
        page = context.new_page()
        log_in(page, state)
        page.wait_for_load_state("networkidle")
        fetches: list[float] = []
        start = time.monotonic()
        # the service worker fetches the presigned URL: only the context sees it
        context.on("requestfinished", lambda r: fetches.append(round(time.monotonic() - start, 1))
                   if key in r.url and "X-Amz-Signature=" in r.url else None)
        crashed: list[bool] = []
        page.on("crash", lambda _: crashed.append(True))
        page.goto(f"{state.ls_url}/projects/{project}/data?task={task}", wait_until="commit")
        found, peak = wait_drawn(page, start, cap_s, crashed)
        elapsed = time.monotonic() - start
        outcome = verdict(found, elapsed, cap_s, bool(crashed))
        result = {"outcome": outcome, "drawn_s": round(elapsed, 2) if outcome == "drawn" else None,
                  "waited_s": round(elapsed, 1), "s3_fetches_done_at_s": fetches,
                  "renderer_peak_rss_mb": round(max(peak, renderer_rss_mb()))}
        return {**result, **(page_costs(context, page) if outcome == "drawn" else {})}
    finally:
        context.close()


def bench_page(state, env: dict, tmp: Path, cap_s: float = CAP_S) -> dict:
    """The figures of the module docstring (the window's page first, then the whole object's)."""
    from labeling_page import launch
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("LSTS_CHROMIUM", "/usr/lib/chromium/chromium")
    if not Path(chromium).exists():
        raise SystemExit(f"Chromium is missing ({chromium}): `make browser-install`, or set LSTS_CHROMIUM")
    made = prepare(state, env, tmp)
    with sync_playwright() as playwright:
        browser = launch(playwright, ("--disable-quic", "--no-first-run", "--disable-sync"))
        try:
            window = time_page(browser, state, *made["window_task"], cap_s=cap_s)
            whole = time_page(browser, state, *made["whole_task"], cap_s=cap_s)
        finally:
            browser.close()
    said = summary(window, whole, cap_s)
    print(f"bench page: {said['line']}", file=sys.stderr, flush=True)
    return {"object": made["object"], "window": made["window"], "apply_both_s": made["apply_both_s"],
            "window_page": window, "whole_page": whole, **said, "cap_s": cap_s,
            "drawn_means": f"{CHANNELS} channels, each a stroked path of at least {MIN_SEGMENTS} segments; no "
                           ".lsf-errors text"}


if __name__ == "__main__":
    import tempfile

    import stack as stack_tool

    name = os.environ.get("LSTS_STACK_NAME", "default")
    found = stack_tool.load_state(name)
    if found is None:
        raise SystemExit(f"the stack {name} is not running: tools/stack.py up --name {name}")
    os.environ.update(found.env())
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(bench_page(found, dict(os.environ), Path(folder)), indent=2))
