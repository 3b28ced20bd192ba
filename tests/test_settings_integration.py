"""Project settings through the CLI against the real Label Studio: each setting created, changed
through the API as the UI would, restored by the next apply, and a key left out never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import apply, find_project, write_specs
from .test_predictions_integration import ROWS, add_predictions

pytestmark = pytest.mark.integration

SETTINGS = """\
settings:
  instructions: "Mark every period where vibration rises <b>without</b> a load change & say why."
  show_instructions: true
  show_skip_button: false
  enable_empty_annotation: false
  show_annotation_history: true
  maximum_annotations: 2
  overlap_percentage: 50
  show_overlap_first: true
  sampling: uniform
  skip_queue: requeue_for_me
  show_predictions: true
  reveal_predictions_interactively: true
  predictions_model_version: iforest-1
  color: '#FF7F0E'
"""
# Label Studio's field and value for each setting above, as its API answers them.
LIVE = {"expert_instruction": "Mark every period where vibration rises <b>without</b> a load change &amp; say why.",
        "show_instruction": True, "show_skip_button": False, "enable_empty_annotation": False,
        "show_annotation_history": True, "maximum_annotations": 2, "overlap_cohort_percentage": 50,
        "show_overlap_first": True, "sampling": "Uniform sampling", "skip_queue": "REQUEUE_FOR_ME",
        "show_collab_predictions": True, "reveal_preannotations_interactively": True, "model_version": "iforest-1",
        "color": "#ff7f0e"}
# What a labeling lead changes in the UI: every setting to another value (the model version to one
# that exists: another model's predictions are on a task).
UI = {"expert_instruction": "Something else", "show_instruction": False, "show_skip_button": True,
      "enable_empty_annotation": True, "show_annotation_history": False, "maximum_annotations": 3,
      "overlap_cohort_percentage": 100, "show_overlap_first": False, "sampling": "Sequential sampling",
      "skip_queue": "IGNORE_SKIPPED", "show_collab_predictions": True, "reveal_preannotations_interactively": False,
      "model_version": "someone-else", "color": "#123456"}


def live_settings(ls, project_id: int) -> dict:
    project = ls.projects.get(id=project_id)
    return {field: getattr(project, field) for field in LIVE}


def with_settings(folder: Path, settings: str) -> None:
    text = (folder / "specs.yaml").read_text()
    (folder / "specs.yaml").write_text(text.replace("labels:\n  - value: Anomaly", settings + "labels:\n  - value: Anomaly"))


def test_each_setting_created_changed_in_the_ui_and_restored(stack_env, s3, ls, bucket, uid, tmp_path) -> None:
    upload_csvs(s3, bucket, "data/", count=2)
    name = f"st-{uid}"
    specs = add_predictions(write_specs(tmp_path / "s", bucket, name), name, ROWS)
    with_settings(specs, SETTINGS)

    first = apply(specs, stack_env)
    assert first.returncode == 0, first.stderr
    assert '    settings.sampling: "uniform"' in first.stdout
    project = find_project(ls, name)
    assert live_settings(ls, project.id) == LIVE
    assert run_cli(["plan", str(specs)], stack_env).stdout.strip().endswith("No changes.")

    # every setting changed as the UI changes it (PATCH of the project)
    task = next(iter(ls.tasks.list(project=project.id))).id
    ls.predictions.create(task=task, model_version="someone-else", result=[])
    ls.projects.update(id=project.id, **UI)
    assert live_settings(ls, project.id) == UI
    plan = run_cli(["plan", str(specs), "--json", "--detailed-exitcode"], stack_env)
    assert plan.returncode == 2, plan.stderr
    changes = json.loads(plan.stdout)["changes"]
    diffs = {d["field"]: (d["old"], d["new"]) for c in changes for d in c.get("diff", [])}
    assert sorted(diffs) == sorted(f"settings.{k}" for k in SETTINGS_KEYS if k != "show_predictions")
    assert diffs["settings.sampling"] == ("sequential", "uniform")
    assert diffs["settings.skip_queue"] == ("ignore_skipped", "requeue_for_me")
    assert diffs["settings.predictions_model_version"] == ("someone-else", "iforest-1")
    assert [c["action"] for c in changes] == ["update", "update"]  # the model version last, on its own
    restored = apply(specs, stack_env)
    assert restored.returncode == 0, restored.stderr
    assert "Plan: 0 to add, 1 to change, 0 to delete." in restored.stdout
    assert live_settings(ls, project.id) == LIVE
    assert run_cli(["plan", str(specs)], stack_env).stdout.strip().endswith("No changes.")

    # predictions hidden in the UI: Label Studio clears the model version with them; both come back
    ls.projects.update(id=project.id, show_collab_predictions=False)
    plan = run_cli(["plan", str(specs), "--json"], stack_env)
    diffs = {d["field"]: (d["old"], d["new"]) for c in json.loads(plan.stdout)["changes"] for d in c.get("diff", [])}
    assert diffs == {"settings.show_predictions": (False, True), "settings.predictions_model_version": ("", "iforest-1")}
    assert apply(specs, stack_env).returncode == 0
    assert live_settings(ls, project.id) == LIVE

    # a key left out is not managed: the UI's value stays
    with_settings_removed = (specs / "specs.yaml").read_text().replace("  color: '#FF7F0E'\n", "")
    (specs / "specs.yaml").write_text(with_settings_removed)
    ls.projects.update(id=project.id, color="#00ff00")
    again = apply(specs, stack_env)
    assert again.returncode == 0 and again.stdout.strip().endswith("No changes."), again.stdout
    assert ls.projects.get(id=project.id).color == "#00ff00"


SETTINGS_KEYS = [line.split(":")[0].strip() for line in SETTINGS.splitlines()[1:]]
