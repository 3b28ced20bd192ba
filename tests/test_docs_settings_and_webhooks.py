"""Every YAML example of docs/settings-and-webhooks.md is a valid spec (with the pump-7 Instance and
Bucket of the unit tests, and the pump-7 Project where the example has none)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsts_sync.spec.loader import load_specs

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "settings-and-webhooks.md"
DATA = Path(__file__).parent / "data"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)


def test_the_page_has_its_examples() -> None:
    assert len(EXAMPLES) == 2


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_an_example_is_a_valid_spec(example: str, tmp_path: Path) -> None:
    (tmp_path / "example.yaml").write_text(example)
    paths = [str(DATA / "pump-7-site.yaml"), str(tmp_path / "example.yaml")]
    if "kind: Project" not in example:
        paths.append(str(DATA / "good" / "pump-7.yaml"))
    specs, problems = load_specs(paths, env={"LABEL_STUDIO_API_KEY": "f" * 40, "CI_HOOK_TOKEN": "t0ken-value"})
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert specs.projects["pump-7"]
