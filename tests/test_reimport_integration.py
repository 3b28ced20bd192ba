"""--reimport-changed through the CLI on the real stack: Label Studio 1.23.2 never imports a key
again, so the tasks of changed objects nobody worked on are deleted and synced again; a task with
an annotation is left alone and stays in the warning."""

from __future__ import annotations

import time

import pytest

from .conftest import run_cli, upload_csvs
from .test_apply_integration import apply, find_project, write_specs
from .test_export_integration import region

pytestmark = pytest.mark.integration


def test_reimport_changed_renews_unworked_tasks_and_keeps_annotated_ones(stack_env, s3, ls, bucket, uid,
                                                                          tmp_path) -> None:
    name = f"r-{uid}"
    keys = upload_csvs(s3, bucket, "data/", count=2)
    specs = write_specs(tmp_path / "a", bucket, name)
    assert apply(specs, stack_env).returncode == 0
    project = find_project(ls, name)
    tasks = {t.storage_filename: t.id for t in ls.tasks.list(project=project.id)}
    ls.annotations.create(id=tasks[keys[1]], result=[region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")])
    time.sleep(3)  # past the slack that tells a write just before the import from a later change
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=bucket, Key=key, Body=body)  # overwritten with the same bytes ("restored")

    plan = run_cli(["plan", str(specs)], stack_env)
    assert plan.returncode == 0, plan.stderr
    assert (f"Warning: {name}: 2 object(s) changed after their import, e.g. {keys[0]}: the labeling page shows each "
            "as it is now") in plan.stdout
    assert f"--reimport-changed {name} re-imports those whose task holds no annotation, draft or prediction" in plan.stdout

    done = apply(specs, stack_env, "--reimport-changed", name)
    assert done.returncode == 0, done.stderr
    assert (f"~ reimport {name} (instance local): 1 task(s) of changed objects ({keys[0]}) deleted, then imported "
            f"again by the sync of storage {name}/source") in done.stdout
    assert (f"Warning: {name}: 1 changed object(s), e.g. {keys[1]}, are not re-imported: their tasks hold "
            "annotations") in done.stdout
    after = {t.storage_filename: t for t in ls.tasks.list(project=project.id)}
    assert sorted(after) == sorted(keys)
    assert after[keys[0]].id != tasks[keys[0]]  # imported again
    assert after[keys[1]].id == tasks[keys[1]] and after[keys[1]].total_annotations == 1  # the work is kept

    again = run_cli(["plan", str(specs)], stack_env)
    assert again.returncode == 0, again.stderr
    assert f"Warning: {name}: 1 object(s) changed after their import, e.g. {keys[1]}:" in again.stdout
    assert again.stdout.rstrip().endswith("No changes.")
