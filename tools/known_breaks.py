"""Apply each known one-line break to a copy of the package and run the unit suite against it.

Each break removes a behaviour a review found unpinned; the unit suite must fail for every one.
Prints one JSON line per break and exits 1 if any break survives. Run by ``make mutation``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (name, file, exact text, replacement): each replacement is a plausible one-line slip.
BREAKS = [
    ("renderer stops masking sensitive fields", "plan_render.py",
     "    if any(s in field for s in SENSITIVE):", "    if False:"),
    ("Label Studio transport stops redacting answers", "ls_http.py",
     'return " ".join(redact(text).split())[:300]', 'return " ".join(text.split())[:300]'),
    ("deletes run projects before storages", "plan.py",
     "return 4 if isinstance(change.old, StorageState) else 5", "return 5 if isinstance(change.old, StorageState) else 4"),
    ("credential rotations count toward too-many-changes", "plan.py",
     "touched = sum(isinstance(c, (Update, Delete)) and not isinstance(c.old, CorsState) for c in changes)",
     "touched = sum(isinstance(c, (Update, Delete, RotateCredentials)) for c in changes)"),
    ("CORS origins only from --target projects", "desired.py",
     "        if project.source and project.source.presign and project.source.bucket in cors_origins:",
     "        if project.source and project.source.presign and project.source.bucket in cors_origins "
     "and (targets is None or project.name in targets):"),
    ("a CORS rule's removal is never planned", "plan.py",
     "        if have.rule != want.rule:", "        if have.rule != want.rule and want.rule is not None:"),
    ("apply ignores blocking checks", "apply.py", "    if plan.blockers:", "    if False:"),
    ("the wrong storage field is read", "ls_mapping.py",
     'prefix=item.get("prefix") or ""', 'prefix=item.get("path") or ""'),
    ("no retries", "ls_http.py", "for attempt in range(1, self.attempts + 1):", "for attempt in range(1, 2):"),
    ("pagination stops after one page", "ls_http.py", '            if not data.get("next"):', "            if True:"),
    ("storage markers are ignored", "ls_mapping.py",
     '    if found is None or found.name != f"{project}/{role}":', "    if False:"),
    ("time re-formatting is a no-op", "export.py", "        return format_ms(ms, target)", "        return str(value)"),
    ("local writes are not atomic", "export.py", "        os.replace(tmp, path)",
     "        Path(path).write_bytes(data)"),
]


def main() -> int:
    survived = 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "copy"
        shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".stack", ".git", "mutants", "__pycache__"))
        for name, file, text, replacement in BREAKS:
            path = copy / "lsts_sync" / file
            original = path.read_text()
            if original.count(text) != 1:
                print(json.dumps({"break": name, "result": "not applicable: the text is not there once"}))
                survived += 1
                continue
            path.write_text(original.replace(text, replacement))
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-m", "not integration", "-p",
                                  "no:cacheprovider"], cwd=copy, capture_output=True, text=True,
                                 env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy), "HOME": tmp})
            path.write_text(original)
            killed = run.returncode == 1
            survived += not killed
            print(json.dumps({"break": name, "result": "killed" if killed else f"SURVIVED (exit {run.returncode})"}))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
