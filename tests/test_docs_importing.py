"""Every YAML example in docs/importing-projects.md is a valid spec (loaded together, with the
Instance example first)."""

from __future__ import annotations

import re
from pathlib import Path

from lsts_sync.spec.loader import load_specs

DOC = Path(__file__).resolve().parent.parent / "docs" / "importing-projects.md"


def test_every_yaml_example_is_a_valid_spec(tmp_path: Path) -> None:
    blocks = re.findall(r"^( *)```yaml\n(.*?)^ *```", DOC.read_text(), flags=re.S | re.M)
    assert len(blocks) == 2
    text = "---\n".join(re.sub(f"^{indent}", "", block, flags=re.M) for indent, block in blocks)
    (tmp_path / "doc.yaml").write_text(text)
    specs, problems = load_specs([str(tmp_path)], require_env=False)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert set(specs.projects) == {"pump-7"} and set(specs.buckets) == {"lsts-demo"}
    assert specs.projects["pump-7"].settings.sampling == "uniform" and len(specs.webhooks) == 1
