"""channels: auto and the plan's own data check read one header the same way (no servers).

The labeling UI keeps quotes inside header names and does not trim them (``seriescsv``). Resolving
channels any other way gives a template whose channels the data check, rightly, says the UI cannot
draw: the user would get a plan that blocks on channels it chose itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.data.datachecks import sample_source
from lsts_sync.data.sources import matching, resolve_channels
from lsts_sync.desired.build import regex_filter
from lsts_sync.desired.template import template_xml
from lsts_sync.resources.facts import SourceFacts
from lsts_sync.spec.loader import SpecSet, load_specs

KEY = "pump/a.csv"
ROWS = "2021-01-01 00:00:00,1\n2021-01-01 00:01:00,2\n"
SPECS = """\
kind: Instance
name: local
url: http://localhost:8080
token: ${{LABEL_STUDIO_API_KEY}}
---
kind: Bucket
name: lsts-data
---
kind: Project
name: p
instance: local
source: {{bucket: lsts-data, prefix: pump/, pattern: '.*\\.csv'}}
timeseries: {{time_column: t, time_format: '%Y-%m-%d %H:%M:%S', channels: auto}}
labels: [{{value: A}}]
"""


class OneObject:
    """The S3 reads that resolving channels and sampling data make, over one object."""

    def __init__(self, text: str) -> None:
        self.data = text.encode()

    def objects(self, bucket: str, prefix: str, recursive: bool) -> list[tuple[str, float, int]]:
        return [(KEY, 1.0, len(self.data))]

    def head_bytes(self, bucket: str, key: str, size: int = 65536) -> bytes:
        return self.data[:size]


def specs(tmp_path: Path) -> SpecSet:
    (tmp_path / "specs.yaml").write_text(SPECS.format())
    loaded, problems = load_specs([str(tmp_path)], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    assert not [p for p in problems if p.severity == "error"], problems
    return loaded


def plan_check(tmp_path: Path, text: str) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The channels that ``channels: auto`` resolves from ``text``, and the plan's data check of it."""
    s3 = OneObject(text)
    project = resolve_channels(specs(tmp_path), s3).projects["p"]  # type: ignore[arg-type]
    source = project.source
    assert source is not None
    keys = tuple(k for k, _ in matching(s3, source.bucket, source.prefix, source.recursive,  # type: ignore[arg-type]
                                        regex_filter(source)))
    sample = sample_source(project, SourceFacts(keys, keys), s3, "new or changed source")  # type: ignore[arg-type]
    return [(c.column, c.legend) for c in project.timeseries.channels], [str(f) for f in sample.findings]


def test_a_quoted_header_gives_one_finding_about_the_time_column_and_none_about_its_channels(tmp_path) -> None:
    channels, findings = plan_check(tmp_path, '"t","V"\n' + ROWS)
    assert channels == [('"v"', "V")]  # the UI's name for the column, and the name as meant for the legend
    assert findings == [f"s3://lsts-data/{KEY}:1: header name '\"t\"' is quoted: the labeling UI keeps the quotes, so it "
                        "does not match time column 't'"]


def test_a_quoted_channel_name_is_resolved_as_the_ui_reads_it_and_the_check_passes(tmp_path) -> None:
    channels, findings = plan_check(tmp_path, '\ufefft,"v"\r\n' + ROWS)
    assert channels == [('"v"', "v")] and findings == []
    s3 = OneObject('t,"v"\n' + ROWS)
    assert 'column="&quot;v&quot;"' in template_xml(resolve_channels(specs(tmp_path), s3).projects["p"])  # type: ignore[arg-type]


def test_names_differing_only_in_case_resolve_lowercased_and_pass(tmp_path) -> None:
    assert plan_check(tmp_path, "T,Vibration\n" + ROWS) == ([("vibration", "Vibration")], [])


def test_a_name_with_spaces_around_it_is_refused_before_any_plan(tmp_path) -> None:
    with pytest.raises(LstsError) as raised:
        resolve_channels(specs(tmp_path), OneObject("t, v\n" + ROWS))  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"project p: channels: auto, but header name ' v' of s3://lsts-data/{KEY} has spaces around it: the labeling UI "
        "does not trim names, so no channel can match it; remove the spaces from the header (or list the column "
        "under exclude_columns)")


def test_a_typo_in_exclude_columns_or_channel_settings_is_an_error_with_the_closest_name(tmp_path) -> None:
    from lsts_sync.core.errors import ProblemsFound

    (tmp_path / "specs.yaml").write_text(SPECS.format().replace(
        "channels: auto}", "channels: auto, exclude_columns: [year, qaurter], channel_settings: {vibraton: {units: mm}}}"))
    loaded, _ = load_specs([str(tmp_path)], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    with pytest.raises(ProblemsFound) as raised:
        resolve_channels(loaded, OneObject("t,year,quarter,vibration\n2021-01-01 00:00:00,1,2,3\n"))  # type: ignore[arg-type]
    assert str(raised.value) == "2 column name(s) in specs are not in the data; nothing was changed"
    assert [str(p) for p in raised.value.problems] == [
        f"{tmp_path / 'specs.yaml'}:13: Project p: timeseries.exclude_columns[1]: 'qaurter' is not a column of "
        f"s3://lsts-data/{KEY} (did you mean 'quarter'?)",
        f"{tmp_path / 'specs.yaml'}:13: Project p: timeseries.channel_settings.vibraton: 'vibraton' is not a column "
        f"of s3://lsts-data/{KEY} (did you mean 'vibration'?)"]


def test_a_typo_in_the_time_column_gets_the_closest_header_name(tmp_path) -> None:
    (tmp_path / "specs.yaml").write_text(SPECS.format().replace("time_column: t,", "time_column: tme,"))
    loaded, _ = load_specs([str(tmp_path)], env={"LABEL_STUDIO_API_KEY": "f" * 40})
    s3 = OneObject("time,v\n" + ROWS)
    project = resolve_channels(loaded, s3).projects["p"]  # type: ignore[arg-type]
    sample = sample_source(project, SourceFacts((KEY,), (KEY,)), s3, "new or changed source")  # type: ignore[arg-type]
    assert [str(f) for f in sample.findings] == [
        f"s3://lsts-data/{KEY}:1: time column 'tme' is not in the header ['time', 'v'] (did you mean 'time'?)"]
