"""The labeler's path in a real browser (Debian's Chromium driven by Playwright) against the real stack.

What a labeler sees is what lsts-sync exists for: the chart must draw every channel from a CSV that
the browser fetches from S3 by a presigned URL, a dragged region must be saved and exported, and a
time format that does not fit the data shows the error the plan's data checks prevent.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from pathlib import Path

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import apply, find_project, write_specs
from .test_data_side_integration import auto_specs, wide_csv
from .test_export_integration import add_exports

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str:
    for candidate in (os.environ.get("LSTS_CHROMIUM"), "/usr/lib/chromium/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail("Chromium was not found: `make browser-install` installs it (apt-get install chromium, as root), "
                "or set LSTS_CHROMIUM to a Chromium binary")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: `make install` installs the test extra (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Labeler:
    """A logged-in browser context; records every response the context sees (service worker included)."""

    def __init__(self, browser, stack) -> None:
        self.stack = stack
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.responses: list[tuple[str, int]] = []
        self.context.on("response", lambda r: self.responses.append((r.url, r.status)))
        self.page = self.context.new_page()
        self.page.goto(f"{stack.ls_url}/user/login/")
        self.page.fill("input[name=email]", stack.username)
        self.page.fill("input[name=password]", stack.password)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def open_task(self, project_id: int, task_id: int) -> None:
        self.page.goto(f"{self.stack.ls_url}/projects/{project_id}/data?task={task_id}")
        self.page.wait_for_load_state("networkidle")

    def wait_for_chart(self, channels: int) -> None:
        self.page.wait_for_function(
            """n => { const c = document.querySelectorAll('.htx-timeseries-channel');
                      return c.length === n && [...c].every(e => e.querySelector('path[stroke]')); }""",
            arg=channels, timeout=60_000)

    def legends(self) -> list[str]:
        # SVG text has no innerText: read textContent
        return self.page.locator(".htx-timeseries-channel svg > g > text").evaluate_all(
            "els => els.map(e => e.textContent.trim())")

    def draw(self, label: str, start: float = 0.3, end: float = 0.5) -> None:
        """Choose ``label`` and drag across the first channel from ``start`` to ``end`` (its width's shares)."""
        page = self.page
        page.locator(".lsf-label", has_text=label).first.click()
        box = page.locator(".htx-timeseries-channel svg").first.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * start, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * end, y, steps=10)
        page.mouse.up()

    def errors(self) -> str:
        found = self.page.locator(".lsf-errors")
        return " ".join(found.all_inner_texts()) if found.count() else ""

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def labeler(browser, stack):
    person = Labeler(browser, stack)
    yield person
    person.close()


def first_task(ls, name: str):
    project = find_project(ls, name)
    tasks = sorted(ls.tasks.list(project=project.id), key=lambda t: t.id)
    return project, tasks[0]


def test_the_chart_draws_every_channel_from_a_presigned_s3_url(stack, stack_env, s3, ls, bucket, uid, tmp_path,
                                                                labeler) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"v-{uid}"
    assert apply(write_specs(tmp_path / "a", bucket, name), stack_env).returncode == 0
    project, task = first_task(ls, name)
    labeler.open_task(project.id, task.id)
    labeler.wait_for_chart(2)
    assert {"vibration", "temperature"} <= set(labeler.legends())
    presigned = [(u, s) for u, s in labeler.responses
                 if u.startswith(stack.s3_url) and "X-Amz-Signature=" in u and "data/week-01.csv" in u]
    assert presigned and all(s == 200 for _, s in presigned), labeler.responses
    assert any(f"/tasks/{task.id}/resolve/" in u for u, _ in labeler.responses)
    assert labeler.errors() == ""


def test_a_labeler_drags_a_region_that_is_saved_and_exported(stack, stack_env, s3, ls, bucket, uid, tmp_path,
                                                             labeler) -> None:
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"l-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    add_exports(specs, name, bucket, tmp_path / "out")
    assert apply(specs, stack_env).returncode == 0
    project, task = first_task(ls, name)
    labeler.open_task(project.id, task.id)
    labeler.wait_for_chart(2)
    page = labeler.page
    labeler.draw("Anomaly")
    assert page.locator("g.brushes g.brush rect.selection").count() >= 1
    with page.expect_response(lambda r: f"/api/tasks/{task.id}/annotations" in r.url and r.request.method == "POST") \
            as saved:
        page.get_by_test_id("bottombar-submit-button").click()
    assert saved.value.status == 201

    (annotation,) = ls.annotations.list(id=task.id)
    (result,) = [r for r in annotation.result if r["type"] == "timeserieslabels"]
    assert result["value"]["timeserieslabels"] == ["Anomaly"]
    start, end = result["value"]["start"], result["value"]["end"]
    assert re.fullmatch(r"2021-01-01 \d\d:\d\d:\d\d", start) and start < end
    assert run_cli(["export", str(specs)], stack_env).returncode == 0
    table = list(csv.DictReader(io.StringIO((tmp_path / "out" / "regions.csv").read_text())))
    assert [(r["label"], r["start"], r["end"]) for r in table] == [("Anomaly", start, end)]
    lookout = (tmp_path / "out" / "labels.csv").read_text().strip()
    assert lookout == f"{start.replace(' ', 'T')}.000000,{end.replace(' ', 'T')}.000000"


def test_a_region_field_shows_once_its_region_is_selected_and_its_value_is_exported(
        stack, stack_env, s3, ls, bucket, uid, tmp_path, labeler) -> None:
    """The template's region field (perRegion, in a View shown when a region is selected): its
    header and control are hidden until the drawn region is selected (Label Studio hides a
    perRegion control by itself; the View hides the header), the chosen value is saved as a result
    sharing the region's id, and the table export shows it in the field's column."""
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"rf-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    with open(specs / "specs.yaml", "a") as spec:
        spec.write(f"""\
region_fields:
  - {{name: severity, type: choices, values: [low, medium, high]}}
---
kind: Export
name: {name}-table
project: {name}
output: {tmp_path}/out/regions.csv
""")
    assert apply(specs, stack_env).returncode == 0
    project, task = first_task(ls, name)
    labeler.open_task(project.id, task.id)
    labeler.wait_for_chart(2)
    page = labeler.page
    header = page.locator("h3", has_text="severity")  # the <Header> naming the field
    high = page.locator(".lsf-choices label.lsf-choice__checkbox", has_text="high")
    assert (header.count(), high.count()) == (1, 1)
    assert not header.is_visible() and not high.is_visible()  # no region selected: the field is hidden
    labeler.draw("Anomaly")
    page.locator(".lsf-outliner").get_by_text("Anomaly").first.click()  # select the drawn region
    high.wait_for(state="visible", timeout=10_000)
    assert header.is_visible()
    high.click()
    with page.expect_response(lambda r: f"/api/tasks/{task.id}/annotations" in r.url and r.request.method == "POST") \
            as saved:
        page.get_by_test_id("bottombar-submit-button").click()
    assert saved.value.status == 201

    (annotation,) = ls.annotations.list(id=task.id)
    (region,) = [r for r in annotation.result if r["type"] == "timeserieslabels"]
    (severity,) = [r for r in annotation.result if r["from_name"] == "severity"]
    assert severity["id"] == region["id"] and severity["value"]["choices"] == ["high"]
    assert run_cli(["export", str(specs)], stack_env).returncode == 0
    table = list(csv.DictReader(io.StringIO((tmp_path / "out" / "regions.csv").read_text())))
    assert [(r["label"], r["start"], r["end"], r["severity"]) for r in table] == [
        ("Anomaly", region["value"]["start"], region["value"]["end"], "high")]


def test_a_time_format_that_does_not_fit_shows_the_parse_error(stack, stack_env, s3, ls, bucket, uid, tmp_path,
                                                               labeler) -> None:
    """What the data check prevents: applied with --skip-data-checks, the labeler sees only an error."""
    upload_csvs(s3, bucket, "data/", count=1)
    name = f"e-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    text = (specs / "specs.yaml").read_text().replace("'%Y-%m-%d %H:%M:%S'", "'%d/%m/%Y %H:%M'")
    (specs / "specs.yaml").write_text(text)
    assert apply(specs, stack_env).returncode == 1  # the data check refuses it
    assert apply(specs, stack_env, "--skip-data-checks").returncode == 0
    project, task = first_task(ls, name)
    labeler.open_task(project.id, task.id)
    labeler.page.wait_for_selector(".lsf-errors", timeout=60_000)
    assert "timeColumn (timestamp) cannot be parsed" in labeler.errors()


def test_channels_auto_draws_every_discovered_channel(stack, stack_env, s3, ls, bucket, uid, tmp_path,
                                                      labeler) -> None:
    columns = ["Flow", "Pressure", "Current", "Speed"]
    s3.put_object(Bucket=bucket, Key="wide/a.csv", Body=wide_csv(columns, rows=30))
    name = f"a-{uid}"
    assert apply(auto_specs(tmp_path / "a", bucket, name), stack_env).returncode == 0
    project, task = first_task(ls, name)
    labeler.open_task(project.id, task.id)
    labeler.wait_for_chart(4)
    assert set(columns) <= set(labeler.legends())
    assert labeler.errors() == ""


def test_a_prediction_shows_the_labeler_its_predicted_region(stack, stack_env, s3, ls, bucket, uid, tmp_path,
                                                            labeler) -> None:
    """A detector's flag is a pre-annotation: the region is drawn on the chart and listed with its
    score, under a tab named after the model version, ready to be accepted or corrected."""
    from .test_predictions_integration import add_predictions

    upload_csvs(s3, bucket, "data/", count=1)
    name = f"pp-{uid}"
    specs = add_predictions(write_specs(tmp_path / "a", bucket, name), name,
                            "file,start,end,label,score\ndata/week-01.csv,2021-01-01 00:10:00,2021-01-01 00:20:00,"
                            "Anomaly,0.9\n")
    first = apply(specs, stack_env)  # the project, its task, then the prediction on it
    assert first.returncode == 0 and "Predictions: 1 to add" in first.stdout, first.stderr
    project, task = first_task(ls, name)
    labeler.open_task(project.id, task.id)
    labeler.wait_for_chart(2)
    page = labeler.page
    page.get_by_text("iforest-1").first.wait_for(timeout=30_000)
    assert page.locator("g.brushes g.brush rect.selection").count() >= 1  # drawn on the channels
    regions = " ".join(page.locator(".lsf-outliner").all_inner_texts())
    assert "Anomaly" in regions and "0.90" in regions
    assert labeler.errors() == ""


def test_a_predicted_regions_field_value_shows_chosen_when_the_labeler_selects_it(stack, stack_env, s3, ls, bucket,
                                                                                  uid, tmp_path, labeler) -> None:
    """A predictions file's severity column: selecting the predicted region shows its severity
    already chosen (Label Studio joins the per-region result to the region by their shared id)."""
    from .test_predictions_integration import add_predictions

    upload_csvs(s3, bucket, "data/", count=1)
    name = f"pf-{uid}"
    specs = write_specs(tmp_path / "a", bucket, name)
    with open(specs / "specs.yaml", "a") as spec:
        spec.write("region_fields:\n  - {name: severity, type: choices, values: [low, medium, high]}\n")
    add_predictions(specs, name, "file,start,end,label,score,severity\n"
                                 "data/week-01.csv,2021-01-01 00:10:00,2021-01-01 00:20:00,Anomaly,0.9,medium\n")
    assert apply(specs, stack_env).returncode == 0
    project, task = first_task(ls, name)
    labeler.open_task(project.id, task.id)
    labeler.wait_for_chart(2)
    page = labeler.page
    page.get_by_text("iforest-1").first.wait_for(timeout=30_000)
    page.locator(".lsf-outliner").get_by_text("Anomaly").first.click()
    medium = page.locator(".lsf-choices input[name=medium]")
    medium.wait_for(state="attached", timeout=10_000)
    page.locator(".lsf-choices label.lsf-choice__checkbox", has_text="medium").wait_for(state="visible",
                                                                                      timeout=10_000)
    checked = page.locator(".lsf-choices input[type=checkbox]").evaluate_all(
        "els => els.filter(e => e.checked).map(e => e.name)")
    assert checked == ["medium"]
    assert labeler.errors() == ""


def month_csv(rows: int = 30 * 86_400) -> bytes:
    """30 days at 1 Hz, 4 channels (2,592,000 rows), from 2026-01-01 00:00:00 UTC."""
    import numpy as np
    import pandas as pd

    t = np.arange(rows)
    frame = pd.DataFrame({"timestamp": pd.date_range("2026-01-01", periods=rows, freq="s").strftime("%Y-%m-%d %H:%M:%S"),
                          "vibration": np.round(np.sin(t / 50) + 2, 3), "temperature": np.round(t % 97 / 7 + 40, 2),
                          "pressure": np.round(np.cos(t / 300) * 3 + 10, 3), "flow": np.round(t % 13 / 3, 2)})
    return frame.to_csv(index=False, lineterminator="\n").encode()


def test_one_window_of_a_month_at_1_hz_draws_and_its_region_labels_the_original_rows(
        stack, stack_env, s3, ls, bucket, uid, tmp_path, labeler) -> None:
    """A 2.6-million-row object is labeled through one of its 6-hour windows: the chart draws, a
    region dragged across the window's overlap is saved, and dense labels exactly the rows of the
    original object inside it."""
    import pandas as pd

    from .test_windows_integration import FOLDER
    from .test_windows_integration import write_specs as windowed_specs

    s3.put_object(Bucket=bucket, Key="raw/month.csv", Body=month_csv())
    name = f"m-{uid}"
    specs = windowed_specs(tmp_path / "a", bucket, name, tmp_path / "out")
    text = (specs / "specs.yaml").read_text().replace(
        "    - column: temperature\n", "    - column: temperature\n    - column: pressure\n    - column: flow\n")
    (specs / "specs.yaml").write_text(text)
    done = apply(specs, stack_env)
    assert done.returncode == 0, done.stderr
    assert f"+ windows {name}: 120 file(s) from 1 object(s)" in done.stdout
    project = find_project(ls, name)
    window = f"{FOLDER.format(name=name)}raw/month.csv/20260110T060000Z.csv"
    (task,) = [t for t in ls.tasks.list(project=project.id) if t.storage_filename == window]
    labeler.open_task(project.id, task.id)
    labeler.wait_for_chart(4)
    assert labeler.errors() == ""
    page = labeler.page
    # the chart opens on the first quarter of the window; a click at the overview's end shows the last
    page.locator(".htx-timeseries-overview").first.scroll_into_view_if_needed()
    overview = page.locator(".htx-timeseries-overview").first.bounding_box()
    page.mouse.click(overview["x"] + overview["width"] * 0.97, overview["y"] + overview["height"] / 2)
    page.wait_for_timeout(1000)
    page.locator(".lsf-label", has_text="Anomaly").first.click()
    page.locator(".htx-timeseries-channel svg").first.scroll_into_view_if_needed()
    box = page.locator(".htx-timeseries-channel svg").first.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.8, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.995, y, steps=10)
    page.mouse.up()
    with page.expect_response(lambda r: f"/api/tasks/{task.id}/annotations" in r.url and r.request.method == "POST") \
            as saved:
        page.get_by_test_id("bottombar-submit-button").click()
    assert saved.value.status == 201
    (annotation,) = ls.annotations.list(id=task.id)
    (result,) = [r for r in annotation.result if r["type"] == "timeserieslabels"]
    start, end = result["value"]["start"], result["value"]["end"]
    assert start < "2026-01-10 12:00:00" < end <= "2026-01-10 12:10:00", (start, end)  # across the overlap
    assert run_cli(["export", str(specs)], stack_env).returncode == 0
    dense = pd.read_parquet(tmp_path / "out" / "dense.parquet", columns=["timestamp", "label"])
    assert len(dense) == 30 * 86_400
    inside = (dense["timestamp"] >= start) & (dense["timestamp"] <= end)
    assert (dense["label"] == "Anomaly").tolist() == inside.tolist()
    assert inside.sum() > 0
