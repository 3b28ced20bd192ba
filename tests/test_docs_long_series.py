"""Every YAML example of docs/long-series.md is a valid spec (with the test Instance)."""

from __future__ import annotations

import re
from pathlib import Path

from lsts_sync.spec.loader import load_specs

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "long-series.md"


def test_every_yaml_example_is_a_valid_spec(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), re.S)
    assert len(blocks) == 1
    folder = tmp_path / "specs"
    folder.mkdir()
    for i, block in enumerate(blocks):
        (folder / f"example-{i}.yaml").write_text(block)
    base = ROOT / "tests" / "data" / "base.yaml"
    specs, problems = load_specs([str(base), str(folder)], env={})
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert specs.projects["pump-7-long"].source.window.duration_ms == 6 * 3_600_000
    assert sorted(specs.exports) == ["pump-7-long-regions", "pump-7-long-rows"]
