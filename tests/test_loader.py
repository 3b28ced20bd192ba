"""Loader tests: the bad-spec corpus, interpolation, multi-document files and folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from lsts_sync.spec.loader import find_files, load_specs

DATA = Path(__file__).parent / "data"
BAD = sorted((DATA / "specs").glob("bad-*.yaml"))


def _expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} needs a '# expect:' first line"
    return f"{path}:" + first.removeprefix("# expect: ").replace("{FILE}", str(path))


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_spec_gives_exactly_its_error(path: Path) -> None:
    _, problems = load_specs([str(DATA / "base.yaml"), str(path)], env={})
    errors = [str(p) for p in problems if p.severity == "error"]
    assert errors == [_expected(path)]


def test_examples_like_specs_load(tmp_path: Path) -> None:
    specs, problems = load_specs([str(DATA / "base.yaml"), str(DATA / "good")], env={})
    assert [str(p) for p in problems] == []
    assert sorted(specs.projects) == ["pump-7"]
    assert specs.projects["pump-7"].source.pattern == r".*\.csv"


def test_interpolation_default_and_value() -> None:
    env = {"LSTS_TEST_TOKEN": "f" * 40}
    specs, problems = load_specs([str(DATA / "base.yaml")], env=env)
    assert problems == []
    assert specs.instances["local"].token.get_secret_value() == "f" * 40
    specs, _ = load_specs([str(DATA / "base.yaml")], env={})
    assert specs.instances["local"].token.get_secret_value().startswith("0123")


def test_missing_variable_is_warning_when_env_not_required(tmp_path: Path) -> None:
    spec = tmp_path / "i.yaml"
    spec.write_text("kind: Instance\nname: x\nurl: http://h:1\ntoken: ${LSTS_TEST_NOPE}\n")
    _, problems = load_specs([str(spec)], env={}, require_env=False)
    assert [(p.severity, p.line) for p in problems] == [("warning", 4)]
    assert "LSTS_TEST_NOPE" in str(problems[0])


def test_literal_token_is_a_warning_without_the_token(tmp_path: Path) -> None:
    spec = tmp_path / "i.yaml"
    secret = "a1b2c3d4e5" * 4
    spec.write_text(f"kind: Instance\nname: x\nurl: http://h:1\ntoken: {secret}\n")
    specs, problems = load_specs([str(spec)], env={})
    assert [p.severity for p in problems] == ["warning"]
    assert "written literally" in str(problems[0]) and secret not in str(problems[0])
    assert secret not in repr(specs.instances["x"]) and secret not in str(specs.instances["x"])


def test_all_problems_are_reported_not_only_the_first(tmp_path: Path) -> None:
    spec = tmp_path / "two.yaml"
    spec.write_text("kind: Bucket\nname: Bad_Name\nregion: 3\nfoo: 1\n")
    _, problems = load_specs([str(spec)], env={})
    assert sorted(p.line for p in problems) == [2, 3, 4]


def test_find_files_recurses_and_sorts(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    for name in ("b/z.yml", "a.yaml", "b/a.yaml", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [Path(f).relative_to(tmp_path).as_posix() for f in find_files([str(tmp_path)])] == [
        "a.yaml", "b/a.yaml", "b/z.yml"]


def test_no_files_is_an_error(tmp_path: Path) -> None:
    _, problems = load_specs([str(tmp_path)], env={})
    assert len(problems) == 1 and "no spec files" in problems[0].message


def test_libyaml_and_the_python_parser_give_the_same_specs_and_lines(monkeypatch) -> None:
    """The fast (C) parser is only a speed-up: specs, problems and every value's line are those
    the Python parser gives, for the examples and for every bad spec of the corpus."""
    import yaml

    from lsts_sync.spec import loader

    assert loader.FAST_LOADER is yaml.CSafeLoader  # the speed-up is in use where PyYAML has libyaml
    paths = [[str(DATA / "base.yaml"), str(DATA / "good")], *[[str(DATA / "base.yaml"), str(p)] for p in BAD]]
    fast = [load_specs(p, env={}) for p in paths]
    monkeypatch.setattr(loader, "FAST_LOADER", yaml.SafeLoader)
    slow = [load_specs(p, env={}) for p in paths]
    for (fast_specs, fast_problems), (slow_specs, slow_problems) in zip(fast, slow, strict=True):
        assert fast_problems == slow_problems
        assert fast_specs.locations == slow_specs.locations and fast_specs.projects == slow_specs.projects


def test_one_pass_reports_repeated_channels_and_labels_beside_the_other_errors(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text("kind: Project\nname: p\ninstance: local\ntimeseries:\n  time_column: timestamp\n  channels:\n"
                    "    - column: vibration\n      color: no-such-colour\n    - column: Vibration\n"
                    "    - column: Timestamp\nlabels:\n  - value: Anomaly\n  - value: Anomaly\n")
    _, problems = load_specs([str(DATA / "base.yaml"), str(spec)], env={})
    assert [str(p) for p in problems if p.severity == "error"] == [
        f"{spec}:8: Project p: timeseries.channels[0].color: invalid color 'no-such-colour': use #rgb, #rrggbb or a "
        "CSS color name",
        f"{spec}:9: Project p: timeseries.channels[1].column: duplicate channel column 'Vibration' (same as channels[0])",
        f"{spec}:10: Project p: timeseries.channels[2].column: channel column 'Timestamp' is the time column",
        f"{spec}:13: Project p: labels[1].value: duplicate label value 'Anomaly'"]


def test_the_yaml_examples_of_the_messages_page_are_valid_specs(tmp_path: Path) -> None:
    import re

    page = (Path(__file__).parent.parent / "docs" / "messages.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.S)
    assert blocks
    for i, block in enumerate(blocks):
        (tmp_path / f"example-{i}.yaml").write_text(block)
    _, problems = load_specs([str(tmp_path)], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    assert [str(p) for p in problems if p.severity == "error"] == []


FIELDS = """kind: Project
name: p
instance: local
timeseries:
  time_column: timestamp
  channels:
    - column: vibration
labels:
  - value: Anomaly
region_fields:
  - {name: severity, type: choices, values: [low, medium, high], required: true}
  - {name: fault_code, type: text}
  - {name: confidence, type: number, min: 0, max: 1}
task_fields:
  - {name: quality, type: choices, values: [good, noisy, unusable]}
"""


def test_region_and_task_fields_load(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(FIELDS)
    specs, problems = load_specs([str(DATA / "base.yaml"), str(spec)], env={})
    assert [str(p) for p in problems] == []
    project = specs.projects["p"]
    assert [(f.name, f.type, f.required) for f in project.region_fields] == [
        ("severity", "choices", True), ("fault_code", "text", False), ("confidence", "number", False)]
    assert project.region_fields[0].values == ("low", "medium", "high")
    assert (project.region_fields[2].min, project.region_fields[2].max) == (0, 1)
    assert [(f.name, f.values) for f in project.task_fields] == [("quality", ("good", "noisy", "unusable"))]


def test_renamed_fields_and_choices_load_as_a_string_or_a_list(tmp_path: Path) -> None:
    spec = tmp_path / "p.yaml"
    spec.write_text(FIELDS.replace("{name: severity, type: choices, values: [low, medium, high], required: true}",
                                   "{name: severity, renamed_from: sev, type: choices, values: [low, "
                                   "{value: medium}, {value: high, renamed_from: [severe, critical]}]}")
                    .replace("{name: quality,", "{name: quality, renamed_from: [grade, usable],")
                    .replace("[good, noisy, unusable]", "[good, {value: noisy, renamed_from: bad}, unusable]"))
    specs, problems = load_specs([str(DATA / "base.yaml"), str(spec)], env={})
    assert [str(p) for p in problems] == []
    project = specs.projects["p"]
    assert project.region_fields[0].choices == ("low", "medium", "high")
    assert project.field_renames == {"sev": "severity", "grade": "quality", "usable": "quality"}
    assert project.choice_renames == {("severity", "severe"): "high", ("severity", "critical"): "high",
                                      ("quality", "bad"): "noisy"}
