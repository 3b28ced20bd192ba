#!/usr/bin/env python3
"""The demo's labeling page: print its URL (`url`), or label the anomaly and take a screenshot (`screenshot`).

Used by `make demo` (the page a person opens) and `make screenshot` (the picture in the README).
Reads the running stack's state; `screenshot` needs Chromium and Playwright (`make browser-install`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import stack as stack_tool  # noqa: E402

MARKER = "managed-by: lsts-sync owner=default name=pump-7"
ANOMALY_WEEK = "week-02.csv"  # demo_data: week 2 has a vibration anomaly from 05:00 to 06:00


def api(state, path: str, body: dict | None = None) -> object:
    request = urllib.request.Request(state.ls_url + path, method="POST" if body else "GET",
                                     data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Token {state.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def demo_task(state) -> tuple[int, int]:
    """(project id, id of the task of the anomaly's file) of the demo project."""
    projects = api(state, "/api/projects/?page_size=1000&include=id,description")["results"]
    project = next(p["id"] for p in projects if (p["description"] or "").endswith(MARKER))
    tasks = api(state, f"/api/tasks/?project={project}&page_size=100&include=id,storage_filename")["tasks"]
    task = next((t["id"] for t in tasks if (t["storage_filename"] or "").endswith(ANOMALY_WEEK)), tasks[0]["id"])
    return project, task


def launch(playwright, flags: tuple[str, ...] = ()):
    """Headless Chromium (LSTS_CHROMIUM, default Debian's) with the flags a test machine needs."""
    chromium = os.environ.get("LSTS_CHROMIUM", "/usr/lib/chromium/chromium")
    return playwright.chromium.launch(executable_path=chromium, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", *flags])


def log_in(page, state) -> None:
    """Log ``page`` in to the stack's Label Studio with the stack's user (form login, as a person does)."""
    page.goto(f"{state.ls_url}/user/login/")
    page.fill("input[name=email]", state.username)
    page.fill("input[name=password]", state.password)
    page.click("button[type=submit]")


def screenshot(state, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    project, task = demo_task(state)
    region = {"from_name": "label", "to_name": "ts", "type": "timeserieslabels",
              "value": {"start": "2021-01-08 05:00:00", "end": "2021-01-08 06:00:00", "instant": False,
                        "timeserieslabels": ["Anomaly"]}}
    if not api(state, f"/api/tasks/{task}/annotations/"):
        api(state, f"/api/tasks/{task}/annotations/", {"result": [region]})
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 980})
        log_in(page, state)
        page.goto(f"{state.ls_url}/projects/{project}/data?task={task}")
        page.wait_for_load_state("networkidle")
        page.wait_for_function("() => [...document.querySelectorAll('.htx-timeseries-channel')]"
                               ".every(e => e.querySelector('path[stroke]'))", timeout=60_000)
        page.locator(".lsf-outliner-item, .lsf-region-item").filter(has_text="Anomaly").first.click()
        page.wait_for_timeout(1500)  # selecting the region moves the chart to it
        page.screenshot(path=str(out))
        browser.close()
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["url", "screenshot"])
    parser.add_argument("--out", default=str(ROOT / "docs" / "labeling.png"))
    args = parser.parse_args()
    state = stack_tool.load_state(os.environ.get("LSTS_STACK_NAME", "default"))
    if state is None:
        raise SystemExit("the stack is not running: make demo")
    if args.command == "url":
        project, task = demo_task(state)
        print(f"{state.ls_url}/projects/{project}/data?task={task}")
    else:
        screenshot(state, Path(args.out))


if __name__ == "__main__":
    main()
