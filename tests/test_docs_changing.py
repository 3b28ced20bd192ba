"""Every YAML example of docs/changing-labeled-projects.md is a valid spec set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsts_sync.spec.loader import load_specs

DOC = Path(__file__).resolve().parent.parent / "docs" / "changing-labeled-projects.md"
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) == 3


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_yaml_example_validates(example: str, tmp_path: Path) -> None:
    (tmp_path / "specs.yaml").write_text(example)
    specs, problems = load_specs([str(tmp_path)], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    assert [str(p) for p in problems] == []
    assert specs.projects["co2"].labels
