"""The docs are tested like code: the generated reference matches the code, every YAML example is a
spec that validates (or fails with exactly the lines its page shows), and every link lands.

Markers a page may put on the line before a ```yaml block:
- ``<!-- invalid -->``: the example is a mistake; the next fenced block shows the error lines
  ``lsts-sync validate`` prints for it, the file being called ``example.yaml``;
- ``<!-- not a spec: why -->``: YAML that is not a spec (a CI workflow); it is not validated.
An example is loaded together with ``specs/`` (the example spec set), so a fragment may name the
``local`` instance, the ``lsts-demo`` bucket or the ``pump-7`` project without repeating them; a
document of the example that reuses one of those names replaces it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lsts_sync.spec.loader import load_specs
from lsts_sync.spec.models import ProjectSpec

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import gen_docs  # noqa: E402

PAGES = gen_docs.pages()
FENCE = re.compile(r"^(```+|~~~+)\s*(\S*)")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence
    lang: str
    text: str
    marker: str  # the comment on the line before the fence, or ""

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def code_blocks(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(match.group(1))), len(lines))
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = before if before.startswith("<!--") else ""
        found.append(Block(page, i + 1, match.group(2), "\n".join(lines[i + 1:end]) + "\n", marker))
        i = end + 1
    return found


BLOCKS = [block for page in PAGES for block in code_blocks(page)]
EXAMPLES = [b for b in BLOCKS if b.lang in ("yaml", "yml") and not b.marker.startswith("<!-- not a spec")]


def spec_errors(text: str, folder: Path) -> list[str]:
    """The error lines ``validate`` prints for ``text`` as ``example.yaml``, next to ``specs/``."""
    example = folder / "example.yaml"
    example.write_text(text, encoding="utf-8")
    _, problems = load_specs([str(example), str(ROOT / "specs")], env={}, require_env=False)
    return [str(p).replace(str(example), "example.yaml") for p in problems
            if p.severity == "error" and p.file == str(example)]


def expected_errors(block: Block) -> list[str]:
    following = [b for b in BLOCKS if b.page == block.page and b.line > block.line]
    assert following, f"{block}: an invalid example is followed by a block with its error lines"
    return following[0].text.splitlines()


@pytest.mark.parametrize("block", EXAMPLES, ids=str)
def test_yaml_example_validates_or_fails_as_its_page_shows(block: Block, tmp_path: Path) -> None:
    errors = spec_errors(block.text, tmp_path)
    if block.marker == "<!-- invalid -->":
        assert errors == expected_errors(block), f"{block}: the page shows other error lines than validate prints"
    else:
        assert block.marker == "", f"{block}: unknown marker {block.marker!r}"
        assert errors == [], f"{block}: the example does not validate"


def test_the_checker_catches_a_typo_in_an_example(tmp_path: Path) -> None:
    project = next(b for b in EXAMPLES if "kind: Project" in b.text and not b.marker)
    assert spec_errors(project.text.replace("time_column:", "time_colum:"), tmp_path)


def test_examples_cover_every_kind() -> None:
    text = "".join(b.text for b in EXAMPLES if not b.marker)
    assert all(f"kind: {kind}" in text for kind in ("Instance", "Bucket", "Project", "Export", "Predictions"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_generated_reference_matches_the_code(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert gen_docs.regenerate(text) == text, f"{page.relative_to(ROOT)} differs from the code: run make docs"


def test_every_kind_and_the_commands_have_a_generated_reference() -> None:
    names = {name for page in PAGES for name in gen_docs.blocks(page.read_text(encoding="utf-8"))}
    assert names == {"commands", "spec-instance", "spec-bucket", "spec-project", "spec-export", "spec-predictions",
                     "spec-webhook"}


def test_a_description_changed_without_regenerating_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    page = ROOT / "docs" / "spec.md"
    text = page.read_text(encoding="utf-8")
    monkeypatch.setattr(ProjectSpec.model_fields["title"], "description", "A title.")
    assert gen_docs.regenerate(text) != text


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    in_code = {n for b in code_blocks(page) for n in range(b.line, b.line + b.text.count("\n") + 2)}
    for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match and n not in in_code:
            base = slug(match.group(1))
            found.add(base if base not in counts else f"{base}-{counts[base]}")
            counts[base] = counts.get(base, 0) + 1
    return found


def links(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    for block in code_blocks(page):
        text = text.replace(block.text, "")
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_land_on_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):
            continue  # an outside address
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with that anchor")
    assert broken == [], f"{page.relative_to(ROOT)}: broken links: {broken}"


def test_slugs_follow_github() -> None:
    assert slug("The prod flavour: Label Studio as its Docker image runs it") == \
        "the-prod-flavour-label-studio-as-its-docker-image-runs-it"
    assert slug("How plan/apply decide") == "how-planapply-decide"
    assert slug("`channels: auto`") == "channels-auto"
