"""Apply each known one-line break to a copy of the package and run the unit suite against it.

Each break removes a behaviour a review found unpinned; the unit suite must fail for every one.

Contract: the repository is copied once (without .git, .venv, mutants/), the unmodified copy's
unit suite (``-m "not integration and not browser"``) must pass first, then each break is applied
alone to the copy, the suite is run, and the file is restored. One JSON line per break:
``result`` is ``killed`` (the suite failed; ``failed`` names the failing tests), ``SURVIVED``
(the suite passed), ``error`` (pytest ended another way, e.g. the break does not import), or
``stale`` (its file is gone or its text is no longer there exactly once: the code moved, so the
entry must be updated). A last line sums them up. Exits 0 only if every break was killed.
Run by ``make mutation``, after tools/mutation.py; takes one suite run per break.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PYTEST = ["-m", "pytest", "-q", "-rfE", "-m", "not integration and not browser", "-p", "no:cacheprovider"]


class Break(NamedTuple):
    """``text`` (exactly once in ``file``, a path from the repository root) becomes ``replacement``.
    ``text`` may span lines to be unique; the change itself is one line."""

    name: str
    file: str
    text: str
    replacement: str


BREAKS = [
    Break("renderer stops masking sensitive fields", "lsts_sync/plan/formatting.py",
          "    if any(s in field for s in SENSITIVE):", "    if False:"),
    Break("Label Studio transport stops redacting answers", "lsts_sync/live/ls_http.py",
          'return " ".join(redact(text).split())[:300]', 'return " ".join(text.split())[:300]'),
    Break("deletes run projects before storages", "lsts_sync/resources/state.py",
          "    delete_order: ClassVar[int] = 5  # before its project", "    delete_order: ClassVar[int] = 7"),
    Break("credential rotations count toward too-many-changes", "lsts_sync/plan/checks.py",
          '                   if c.action in ("update", "delete") and c.resource is not None and c.resource.kind != "cors"})',
          '                   if c.action in ("update", "delete", "rotate") and c.resource is not None and c.resource.kind != "cors"})'),
    Break("CORS origins only from --project projects", "lsts_sync/desired/build.py",
          "        if project.source and project.source.presign and project.source.bucket in cors_origins:",
          "        if project.source and project.source.presign and project.source.bucket in cors_origins "
          "and (selected is None or project.name in selected):"),
    Break("a CORS rule's removal is never planned", "lsts_sync/plan/build.py",
          "        if have.rule != want.rule:", "        if have.rule != want.rule and want.rule is not None:"),
    Break("apply ignores blocking checks", "lsts_sync/apply/executor.py", "    if plan.blockers:", "    if False:"),
    Break("the wrong storage field is read", "lsts_sync/live/ls_mapping.py",
          'prefix=item.get("prefix") or ""', 'prefix=item.get("path") or ""'),
    Break("no retries", "lsts_sync/live/ls_http.py",
          "        for attempt in range(1, self.attempts + 1):\n            try:",
          "        for attempt in range(1, 2):\n            try:"),
    Break("pagination stops after one page", "lsts_sync/live/ls_http.py",
          '            if not data.get("next"):', "            if True:"),
    Break("storage markers are ignored", "lsts_sync/live/ls_mapping.py",
          '    if found is None or found.name != f"{project}/{role}":', "    if False:"),
    Break("time re-formatting is a no-op", "lsts_sync/labels/annotations.py",
          "        return format_ms(ms, target)", "        return str(value)"),
    Break("local writes are not atomic", "lsts_sync/core/files.py",
          "        os.replace(tmp, target)", "        Path(target).write_bytes(data)"),
    # behaviours pinned since the review
    Break("a renewed lock keeps the old ETag", "lsts_sync/live/lock.py",
          "        return Lock(lock.bucket, lock.key, lock.id, etag)",
          "        return Lock(lock.bucket, lock.key, lock.id, lock.etag)"),
    Break("another user's process (EPERM) counts as dead", "lsts_sync/live/lock.py",
          "    except PermissionError:\n        return True", "    except PermissionError:\n        return False"),
    Break("removing our CORS rule deletes the bucket's whole configuration", "lsts_sync/live/s3.py",
          "            if rules:", "            if state.rule:"),
    Break("the exchanged access token is not a registered secret", "lsts_sync/live/ls_http.py",
          "        register(access)\n", "        pass\n"),
    Break("a negative half-hour zone loses the minutes' sign", "lsts_sync/ui/timefmt.py",
          "    return sign * (int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0))",
          "    return sign * int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)"),
    Break("another owner's storage on our project counts as ours", "lsts_sync/live/connections.py",
          "            mine = [s for s in attached if s.owner == project.owner]", "            mine = list(attached)"),
    Break("owner default is everyone's own", "lsts_sync/live/connections.py",
          "(own if marker.owner == owner else others[marker.owner])",
          '(own if marker.owner in (owner, "default") else others[marker.owner])'),
    Break("a task's prediction takes its first scored row's score", "lsts_sync/labels/predictions.py",
          "max(scores) if scores else None", "scores[0] if scores else None"),
    # the structure: one orchestrator, changes that carry their order, one rule of orphaned work
    Break("the label-removal check skips an unknown usage", "lsts_sync/plan/checks.py",
          "        if usage is None:  # not read, or not readable: fail closed\n",
          "        if usage is None:  # not read, or not readable: fail closed\n            continue\n"),
    Break("changes are applied in the order they were found", "lsts_sync/plan/build.py",
          "    changes.sort(key=lambda change: change.order)\n", "    pass\n"),
    Break("plan and replay skip the bucket check", "lsts_sync/pipeline/orchestrator.py",
          "        self._check_buckets(selected)\n", "        pass\n"),
    Break("apply does not renew the lock after the prompt", "lsts_sync/pipeline/orchestrator.py",
          "            locks.keepalive(force=True)", "            pass"),
    Break("report: event ties go to the earlier labeled start first", "lsts_sync/labels/metrics.py",
          "                candidates.append((-score, pred.start, lab.start, p, q))",
          "                candidates.append((-score, lab.start, pred.start, q, p))"),
    Break("report: touching spans stay two ranges", "lsts_sync/labels/metrics.py",
          "        if merged and first <= merged[-1][1]:", "        if merged and first < merged[-1][1]:"),
    Break("report: alpha's units are not divided by m - 1", "lsts_sync/labels/metrics.py",
          "        observed += float((coders * (coders - 1) - 2 * equal).sum()) / (coders - 1)",
          "        observed += float((coders * (coders - 1) - 2 * equal).sum())"),
    Break("report: the reference is every annotation, not export's latest", "lsts_sync/labels/report.py",
          'task_rows(task, project, "latest", users))', 'task_rows(task, project, "all", users))'),
    Break("report: unlabeled tasks are not downloaded", "lsts_sync/pipeline/report.py",
          "tasks = instance.export_tasks(project_id, name, all_tasks=True)",
          "tasks = instance.export_tasks(project_id, name)"),
    Break("predictions for the objects this apply's sync imports wait for the next apply", "lsts_sync/plan/build.py",
          "            steps.append(later)", "            pass"),
    Break("a setting the spec leaves out is compared", "lsts_sync/resources/state.py",
          "    keys = dict.fromkeys([*b, *(k for k in a if not k.startswith(PREFIX))])", "    keys = dict.fromkeys([*b, *a])"),
    Break("an undeclared webhook is deleted without --prune", "lsts_sync/plan/build.py",
          "    _reconcile(desired.webhooks, live.webhooks, changes, prune)",
          "    _reconcile(desired.webhooks, live.webhooks, changes, True)"),
    Break("a webhook's header values are not registered secrets", "lsts_sync/live/connections.py",
          "        register(*values.values())", "        pass"),
    Break("--adopt creates a second webhook beside the one made by hand", "lsts_sync/plan/build.py",
          "    checks += _adopt_storages(changes, desired, live) + _adopt_webhooks(changes, desired, live)",
          "    checks += _adopt_storages(changes, desired, live)"),
    Break("adoption guesses between two webhooks made by hand", "lsts_sync/resources/adoption.py",
          "            if len(candidates) == 1:", "            if len(candidates) >= 1:"),
    Break("an adopted project's predictions on its existing tasks wait for the next apply", "lsts_sync/plan/build.py",
          "            project_ids.get(project_key) if project_key in facts.tasks else None",
          "            None"),
]

FAILED_RE = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.MULTILINE)  # "FAILED node id - message"


def run_suite(copy: Path, home: str) -> subprocess.CompletedProcess[str]:
    """The unit suite in ``copy``, with ``copy`` first on the path (before the editable install)."""
    return subprocess.run([sys.executable, *PYTEST], cwd=copy, capture_output=True, text=True,
                          env={"PATH": os.defpath, "PYTHONPATH": str(copy), "HOME": home})


def failed_tests(output: str) -> list[str]:
    """The node ids pytest's short summary names as failed or in error, in its order."""
    return list(dict.fromkeys(FAILED_RE.findall(output)))


def last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def apply_break(copy: Path, item: Break, home: str) -> dict[str, object]:
    """Apply ``item`` to ``copy``, run the suite, restore the file; the break's JSON record."""
    record: dict[str, object] = {"break": item.name, "file": item.file}
    path = copy / item.file
    original = path.read_text() if path.is_file() else None
    found = original.count(item.text) if original is not None else 0
    if original is None or found != 1:
        where = "the file is gone" if original is None else f"the text is there {found} times, not once"
        return {**record, "result": f"stale: {where}"}
    started = time.monotonic()
    path.write_text(original.replace(item.text, item.replacement))
    try:
        run = run_suite(copy, home)
    finally:
        path.write_text(original)
    record["seconds"] = round(time.monotonic() - started, 1)
    if run.returncode == 0:
        return {**record, "result": "SURVIVED"}
    if run.returncode == 1:
        return {**record, "result": "killed", "failed": failed_tests(run.stdout)}
    return {**record, "result": f"error (pytest exit {run.returncode})", "detail": last_line(run.stdout + run.stderr)}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".stack", ".git", "mutants", "__pycache__",
                                                                   ".ruff_cache"))
        baseline = run_suite(copy, tmp)
        if baseline.returncode != 0:
            print(json.dumps({"baseline": f"the unbroken suite fails (pytest exit {baseline.returncode})",
                              "failed": failed_tests(baseline.stdout),
                              "detail": last_line(baseline.stdout + baseline.stderr)}))
            return 1
        results = []
        for item in BREAKS:
            results.append(apply_break(copy, item, tmp))
            print(json.dumps(results[-1]), flush=True)
    counts: dict[str, int] = {}
    for record in results:
        kind = str(record["result"]).split(" ")[0].split(":")[0]
        counts[kind] = counts.get(kind, 0) + 1
    print(json.dumps({"breaks": len(results), **counts}))
    return 0 if counts.get("killed", 0) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
