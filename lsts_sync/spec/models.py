"""The spec documents: Instance, Bucket, Project, Export, Predictions and Webhook.

Every model forbids unknown keys (a typo must not pass silently) and is frozen: specs are values.
Single-field rules live in field validators so pydantic reports them at the exact field; rules that
span fields live in ``problems()``, which returns ``(path, message)`` pairs for the loader to place.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    field_validator,
)

from lsts_sync.core.locations import is_s3_url, split_s3_url
from lsts_sync.core.problems import FieldPath
from lsts_sync.ui.colors import check_color
from lsts_sync.ui.seriescsv import loose_name, name_key
from lsts_sync.ui.template import CONTROL_NAME, OBJECT_NAME
from lsts_sync.ui.timefmt import check_time_format

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"invalid name {value!r}: use letters, digits, '.', '_' or '-' (at most 63)")
    return value


def _check_bucket(value: str) -> str:
    if not BUCKET_RE.match(value) or ".." in value:
        raise ValueError(f"invalid S3 bucket name {value!r}")
    return value


def _check_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid URL {value!r}: expected http(s)://host[:port][/path]")
    return value.rstrip("/")


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression '{value}': {exc}") from None
    return value


def _check_prefix(value: str) -> str:
    if value.startswith(("/", "s3://")) or "//" in value:
        raise ValueError(f"invalid prefix {value!r}: a key prefix like 'data/pump-7/' (no leading '/', no '//')")
    return value


def _file_location(what: str, value: str, folder: bool = False) -> str:
    """A file's place: a local path or ``s3://bucket/key`` (no other scheme, no bucket-only URL);
    with ``folder``, an S3 key may also end in '/' (a folder, as a local path may name one)."""
    if is_s3_url(value):
        bucket, key = split_s3_url(value) or ("", "")
        if not bucket or not key or (key.endswith("/") and not folder):
            raise ValueError(f"invalid {what} {value!r}: expected s3://bucket/key"
                             + (" or s3://bucket/folder/" if folder else ""))
    elif re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value) or not value.strip():
        raise ValueError(f"invalid {what} {value!r}: expected a local path or s3://bucket/key")
    return value


def _check_output(value: str) -> str:
    return _file_location("output", value, folder=True)


def _check_split(value: str) -> str:
    """``split`` names each source file's output: every placeholder is exactly ``{file}`` or
    ``{stem}`` (no conversion, no format spec), and there is at least one."""
    try:
        fields = [(name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(value)
                  if name is not None]
    except ValueError as exc:
        raise ValueError(f"invalid split {value!r}: {exc} (write a literal brace as '{{{{' or '}}}}')") from None
    for name, conversion, spec in fields:
        if name not in ("file", "stem") or conversion or spec:
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise ValueError(f"unknown placeholder {{{shown}}} in split: use {{file}} or {{stem}}")
    if not fields:
        raise ValueError("split must contain {file} or {stem}, e.g. '{stem}-labels.csv'")
    return value


Name = Annotated[str, AfterValidator(_check_name)]
BucketName = Annotated[str, AfterValidator(_check_bucket)]
HttpUrl = Annotated[str, AfterValidator(_check_http_url)]
Color = Annotated[str, AfterValidator(check_color)]
TimeFormat = Annotated[str, AfterValidator(check_time_format)]
Regex = Annotated[str, AfterValidator(_check_regex)]
Prefix = Annotated[str, AfterValidator(_check_prefix)]
Split = Annotated[str, AfterValidator(_check_split)]
NonEmpty = Annotated[str, Field(min_length=1)]


def _one_name_is_a_list(value: object) -> object:
    """``renamed_from: Missing`` reads as ``renamed_from: [Missing]``."""
    return (value,) if isinstance(value, str) else value


# Former names (``renamed_from``): a string or a list, read as a tuple; the JSON Schema takes both.
FormerNames = Annotated[tuple[NonEmpty, ...],
                        BeforeValidator(_one_name_is_a_list, json_schema_input_type=NonEmpty | list[NonEmpty])]


class Strict(BaseModel):
    """Base of every spec model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class InstanceSpec(Strict):
    """A Label Studio server. ``token`` is a SecretStr: its repr and str never show the value.

    ``owner`` names who manages what this spec set creates there: every marker carries it, and
    prune, duplicate detection and the change-share check see only the owner's own resources, so
    several teams can share one Label Studio. ``lock_bucket`` holds the apply lock (default: the
    first Bucket spec by name). ``timeout``: seconds to wait for one answer before it counts as lost
    (a lost create is then looked for before it is sent again).
    """

    kind: Literal["Instance"]
    name: Name = Field(description="The instance's name, which projects refer to.")
    url: HttpUrl = Field(description="Where lsts-sync reaches Label Studio.")
    token: SecretStr = Field(description=(
        "A Personal Access Token or a legacy token (see [Tokens](owners-lock-ci.md#tokens)). Write "
        "`${LABEL_STUDIO_API_KEY}`: a token written literally is a warning."))
    public_url: HttpUrl | None = Field(default=None, description=(
        "The origin labelers' browsers use (default: `url`); managed CORS rules allow it."))
    owner: Name = Field(default="default", description=(
        "Who manages what this spec set creates (see [Owners](owners-lock-ci.md#owners-several-teams-on-one-label-studio)); "
        "every Instance of one spec set has the same owner."))
    lock_bucket: BucketName | None = Field(default=None, description=(
        "The bucket that holds the apply lock (default: the first Bucket spec by name; see "
        "[the apply lock](owners-lock-ci.md#concurrent-applies-the-apply-lock))."))
    timeout: float = Field(default=60.0, gt=0, le=3600, description=(
        "Seconds to wait for one answer from Label Studio (at most 3600); a create whose answer is lost is "
        "looked for (up to 30 s) before it is sent again (see [Faults](safety.md#faults))."))

    @field_validator("public_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def browser_origin(self) -> str:
        """scheme://host[:port] that labelers' browsers use (``public_url``, default ``url``)."""
        parts = urlsplit(self.public_url or self.url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    def problems(self) -> list[tuple[FieldPath, str]]:
        return []


class CorsSpec(Strict):
    managed: bool = Field(default=True, description=(
        "Own the CORS rule with ID `lsts-sync` (`lsts-sync-<owner>` for another owner): GET from the origins of "
        "the instances whose projects read this bucket with presigned URLs. Rules with other IDs are kept exactly."))


class BucketSpec(Strict):
    """An S3 bucket; ``name`` is the bucket's own name."""

    kind: Literal["Bucket"]
    name: BucketName = Field(description="The S3 bucket's own name.")
    region: str = Field(default="us-east-1", description="The region for boto3 and Label Studio's storages.")
    endpoint_url: HttpUrl | None = Field(default=None, description=(
        "Any S3-compatible endpoint; unset or empty means AWS itself."))
    cors: CorsSpec = Field(default_factory=CorsSpec, description="The bucket's CORS rule that lsts-sync manages.")

    @field_validator("endpoint_url", "region", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object, info) -> object:
        if value == "" or value is None:
            return "us-east-1" if info.field_name == "region" else None
        return value

    def problems(self) -> list[tuple[FieldPath, str]]:
        return []


DURATION_RE = re.compile(r"^([1-9][0-9]*)(s|m|h|d)$")
DURATION_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
DEFAULT_STAGING_PREFIX = ".lsts-sync/windows/"


def duration_ms(value: str) -> int:
    """Milliseconds of a duration written ``30s``, ``10m``, ``6h`` or ``1d`` (``0`` is no duration)."""
    if value == "0":
        return 0
    match = DURATION_RE.match(value)
    if not match:
        raise ValueError(f"invalid duration {value!r}: a whole number and a unit, e.g. 30s, 10m, 6h or 1d")
    return int(match.group(1)) * DURATION_UNITS[match.group(2)]


def _check_duration(value: str) -> str:
    duration_ms(value)
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]


class WindowSpec(Strict):
    """How a long series is cut into labeling windows: by time (``duration``, aligned to multiples
    of it counted from 1970-01-01 UTC) or by rows (``rows``, counted from each object's first row).
    Each window extends past its end by ``overlap`` (``overlap_rows``), so an event on a boundary is
    seen whole in one task."""

    duration: Duration | None = Field(default=None, description=(
        "Window length (`30s`, `10m`, `6h`, `1d`), aligned to multiples of it from 1970-01-01 UTC."))
    overlap: Duration = Field(default="0", description="How far each duration window extends past its end.")
    rows: int | None = Field(default=None, ge=2, le=10_000_000, description=(
        "Window length in rows, counted from each object's first row."))
    overlap_rows: int = Field(default=0, ge=0, description="Rows each row window extends past its end.")

    @property
    def duration_ms(self) -> int | None:
        return duration_ms(self.duration) if self.duration else None

    @property
    def overlap_ms(self) -> int:
        return duration_ms(self.overlap)

    def problems(self) -> list[tuple[FieldPath, str]]:
        if (self.duration is None) == (self.rows is None):
            return [((), "a window is either {duration: 6h, overlap: 10m} or {rows: N, overlap_rows: M}: give exactly "
                     "one of duration and rows")]
        if self.duration is not None and self.overlap_ms >= duration_ms(self.duration):
            return [(("overlap",), f"overlap {self.overlap} must be shorter than duration {self.duration}")]
        if self.rows is not None and self.overlap_rows >= self.rows:
            return [(("overlap_rows",), f"overlap_rows {self.overlap_rows} must be fewer than rows {self.rows}")]
        if self.duration is not None and self.overlap_rows:
            return [(("overlap_rows",), "overlap_rows goes with rows; a duration window takes overlap")]
        if self.rows is not None and self.overlap_ms:
            return [(("overlap",), "overlap goes with duration; a row window takes overlap_rows")]
        return []


class SourceSpec(Strict):
    """S3 import storage: one task per object under ``prefix`` whose rest of key matches ``pattern``.

    A source is *staged* when it declares ``window``, ``format: parquet``, or a ``pattern`` that
    names Parquet: apply then writes labeling CSVs (windows) under ``staging_prefix`` and the
    project's import storage reads those instead of the objects themselves (``staged``).
    """

    bucket: BucketName = Field(description="The Bucket spec the series are read from.")
    prefix: Prefix = Field(default="", description="The key prefix of the objects (no leading `/`).")
    pattern: Regex = Field(default=r".*\.csv", description=(
        "A regular expression that must match the **rest of the key after the prefix**, whole (lsts-sync sends "
        "Label Studio `escaped-prefix(?:pattern)$`, since Label Studio matches the full key)."))
    recursive: bool = Field(default=False, description="Also import objects in sub-folders of the prefix.")
    presign: bool = Field(default=True, description=(
        "The browser reads the CSV from S3 by presigned URL (needs CORS); `false` proxies it through Label Studio."))
    presign_ttl: int = Field(default=60, ge=1, le=10080, description="Minutes a presigned URL stays valid (1–10080).")
    credentials: Literal["environment", "none"] = Field(default="environment", description=(
        "`environment` hands Label Studio the credentials of boto3's default chain when the storage is created; "
        "`none` sends none (an IAM role on the server)."))
    sync: bool = Field(default=True, description=(
        "Sync on apply when the storage is new or changed, or when objects under the prefix are not yet tasks "
        "(`apply --sync` syncs all)."))
    window: WindowSpec | None = Field(default=None, description=(
        "Cut each object into labeling windows that apply writes under `staging_prefix` "
        "(docs/long-series.md)."))
    format: Literal["csv", "parquet"] | None = Field(
        default=None, description="csv or parquet; default: parquet for a key ending .parquet or .pq, else csv")
    staging_prefix: Prefix = Field(default=DEFAULT_STAGING_PREFIX, description=(
        "Where apply writes the window files of a staged source, in the source's bucket."))

    @property
    def staged(self) -> bool:
        """True if apply writes labeling files for this source (Label Studio cannot read Parquet)."""
        return self.window is not None or self.format == "parquet" or "parquet" in self.pattern.lower()

    def problems(self) -> list[tuple[FieldPath, str]]:
        found = [(("window", *path), message) for path, message in self.window.problems()] if self.window else []
        if self.staged and not self.staging_prefix.strip("/"):
            found.append((("staging_prefix",), "a staged source needs a staging_prefix (default .lsts-sync/windows/)"))
        elif self.staged and self.prefix.startswith(self.staging_prefix.rstrip("/") + "/"):
            found.append((("staging_prefix",), f"the source's prefix {self.prefix!r} lies inside staging_prefix "
                          f"{self.staging_prefix!r}: windows would be windowed again"))
        return found


class TargetSpec(Strict):
    """S3 export storage: Label Studio writes every saved annotation under ``prefix``."""

    bucket: BucketName = Field(description="The Bucket spec Label Studio writes annotations to.")
    prefix: Prefix = Field(default="", description="The key prefix of the annotations; a trailing `/` is dropped.")
    credentials: Literal["environment", "none"] = Field(default="environment", description=(
        "As for `source.credentials`."))


class ChannelSettings(Strict):
    """How one channel is drawn; every setting is optional (defaults: column name as legend, tab10
    colour). ``legend: ''`` writes no legend attribute at all."""

    legend: str | None = Field(default=None, description=(
        "The channel's legend (default: the column's name); `''` writes no legend at all."))
    color: Color | None = Field(default=None, description=(
        "`#rgb`, `#rrggbb` or a CSS colour name (default: tab10 by position)."))
    format: str | None = Field(default=None, description="A d3 number format for the values, e.g. `.2f`.")
    units: str | None = Field(default=None, description="The units shown with the values.")
    height: int | None = Field(default=None, ge=10, le=2000, description="The channel's height in pixels (10–2000).")


class ChannelSpec(ChannelSettings):
    column: NonEmpty = Field(description=(
        "The CSV column drawn (compared case-insensitively: Label Studio lowercases headers)."))


class TimeSeriesSpec(Strict):
    """The time series of a project's CSVs.

    ``channels: auto`` takes every header column of the source's first matching object except the
    time column and ``exclude_columns``, in header order; ``channel_settings`` sets any of them by
    column. They are resolved at plan time (``ProjectSpec.with_channels``).
    """

    time_column: NonEmpty = Field(description="The CSV column with the time (compared case-insensitively).")
    time_format: TimeFormat | None = Field(default=None, description=(
        "A d3 time format such as `%Y-%m-%d %H:%M:%S`, read as the labeling UI reads it (see "
        "[Time formats](data-checks.md#time-formats-as-the-labeling-ui-reads-them)); `%s %Q %L %f %Z` work, "
        "week-based directives are refused. Without it, times are numbers."))
    display_format: TimeFormat | None = Field(default=None, description=(
        "How the chart shows time (a d3 time format); needs `time_format` (without it the UI reads it as a "
        "number format and fails)."))
    sep: str = Field(default=",", min_length=1, max_length=1, description=(
        "The CSV separator, one character; not a regular-expression character such as `|` (the UI builds a "
        "regular expression from it unescaped)."))
    overview: tuple[str, ...] = Field(default=(), description="Channel columns shown in the overview.")
    channels: Annotated[Annotated[Literal["auto"], Tag("[auto]")]
                        | Annotated[tuple[ChannelSpec, ...], Field(min_length=1), Tag("[list]")],
                        Discriminator(lambda v: "[auto]" if isinstance(v, str) else "[list]")] = Field(description=(
        "The channels drawn, one `<Channel>` each: a list (at least one), or `auto` (see "
        "[channels: auto](spec.md#channels-auto))."))
    exclude_columns: tuple[NonEmpty, ...] = Field(default=(), description=(
        "With `channels: auto`: columns that are not channels (case-insensitive)."))
    channel_settings: dict[str, ChannelSettings] = Field(default_factory=dict, description=(
        "With `channels: auto`: the settings of some channels, by column (`legend`, `color`, `format`, `units`, "
        "`height`, as in a channel)."))

    @property
    def auto(self) -> bool:
        return self.channels == "auto"

    @property
    def channel_list(self) -> tuple[ChannelSpec, ...]:
        """The declared channels (none while ``channels: auto`` waits on the data)."""
        return () if isinstance(self.channels, str) else self.channels

    @field_validator("sep")
    @classmethod
    def _sep_the_ui_can_split(cls, value: str) -> str:
        # the labeling UI builds a regular expression around sep without escaping it
        if value in "|.*+?()[]{}^$\\":
            raise ValueError(f"separator {value!r} breaks the labeling UI (it is used unescaped in a regular expression)")
        return value


class LabelSpec(Strict):
    """A label. ``renamed_from`` names its former names (a string or a list): apply rewrites every
    region, draft and prediction that carries one of them to ``value``, then the template."""

    value: NonEmpty = Field(description="The label's name, unique in the project.")
    color: Color | None = Field(default=None, description="`#rgb`, `#rrggbb` or a CSS colour name.")
    renamed_from: FormerNames = Field(default=(), description=(
        "The label's former names (a string or a list): apply rewrites every region, draft and prediction that "
        "carries one of them to `value`, then the template (see [Changing labeled projects]"
        "(changing-labeled-projects.md))."))


HEX6 = re.compile(r"^#[0-9a-fA-F]{6}$")


def _check_hex6(value: str) -> str:
    if not HEX6.match(value):
        raise ValueError(f"invalid color {value!r}: Label Studio takes a project color as #rrggbb")
    return value


class ProjectSettings(Strict):
    """Label Studio's project settings that a spec manages. A key left out is not managed (None):
    whatever the UI sets there stays; a key given is diffed and updated like the title."""

    instructions: str | None = Field(default=None, description="The labeling instructions (HTML).")
    show_instructions: bool | None = Field(default=None, description="Show the instructions before each task.")
    show_skip_button: bool | None = Field(default=None, description="Let labelers skip a task.")
    enable_empty_annotation: bool | None = Field(default=None, description="Allow submitting an empty annotation.")
    show_annotation_history: bool | None = Field(default=None, description="Show labelers the annotation history.")
    maximum_annotations: int | None = Field(default=None, ge=1, le=10000, description="Labelers per task.")
    overlap_percentage: int | None = Field(default=None, ge=0, le=100, description=(
        "Percent of the tasks that get `maximum_annotations` labelers."))
    show_overlap_first: bool | None = Field(default=None, description="Give the overlapping tasks first.")
    sampling: Literal["sequential", "uniform", "uncertainty"] | None = Field(
        default=None, description="The order tasks are given to labelers.")
    skip_queue: Literal["requeue_for_me", "requeue_for_others", "ignore_skipped"] | None = Field(
        default=None, description="Where a skipped task goes.")
    show_predictions: bool | None = Field(default=None, description="Show the model's predictions to labelers.")
    reveal_predictions_interactively: bool | None = Field(default=None, description=(
        "Reveal the predictions region by region."))
    predictions_model_version: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="The model version whose predictions labelers see.")
    color: Annotated[str, AfterValidator(_check_hex6)] | None = Field(default=None, description=(
        "The project's colour in Label Studio's list, `#rrggbb`."))

    def managed(self) -> dict[str, object]:
        """The keys the spec gives, with their values."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# Names a field cannot take: the template's own control and object, and the table export's columns
# (a field is a column of its own there).
RESERVED_FIELD_NAMES = frozenset({CONTROL_NAME, OBJECT_NAME, "project", "task_id", "file", "start", "end", "instant",
                                  "annotation_id", "annotator", "updated_at", "window"})


def _check_field_name(value: str) -> str:
    if not FIELD_NAME_RE.match(value):
        raise ValueError(f"invalid field name {value!r}: a letter or '_', then letters, digits or '_' (at most 63)")
    if value.lower() in RESERVED_FIELD_NAMES:
        raise ValueError(f"field name {value!r} is taken by the template or the table export; choose another")
    return value


class ChoiceSpec(Strict):
    """A value of a choices field written as a mapping, to give its former values: apply rewrites
    every result of the field that carries one of them to ``value``, then the template."""

    value: NonEmpty = Field(description="The value a labeler picks.")
    renamed_from: FormerNames = Field(default=(), description=(
        "The value's former names (a string or a list): apply rewrites every result of the field, in "
        "annotations, drafts and predictions, that carries one of them to `value`, then the template (see "
        "[Changing labeled projects](changing-labeled-projects.md#rename-a-field-or-a-choice))."))


# A value is a string, or a mapping with its former values: a discriminator, so that a wrong value is
# one error of the form it was written in (not one per form).
Choice = Annotated[Annotated[NonEmpty, Tag("[value]")] | Annotated[ChoiceSpec, Tag("[choice]")],
                   Discriminator(lambda v: "[choice]" if isinstance(v, dict | ChoiceSpec) else "[value]")]


class FieldSpec(Strict):
    """An attribute labelers give each region (``region_fields``) or each task (``task_fields``):
    one control tag in the template (Choices, TextArea or Number) and one column in the exports.
    ``renamed_from`` (the field's) and a value's ``renamed_from`` carry renames into the results."""

    name: Annotated[str, AfterValidator(_check_field_name)] = Field(description=(
        "The control's name in the template and the column's name in the exports: a letter or `_`, then "
        "letters, digits or `_`; not `label`, `ts` or a column of the table export."))
    renamed_from: FormerNames = Field(default=(), description=(
        "The field's former names (a string or a list): apply rewrites every result, in annotations, drafts and "
        "predictions, that one of them names to `name`, then the template (see [Changing labeled projects]"
        "(changing-labeled-projects.md#rename-a-field-or-a-choice))."))
    type: Literal["choices", "text", "number"] = Field(description=(
        "`choices` (one of `values`), `text` (free text) or `number` (between `min` and `max`)."))
    values: tuple[Choice, ...] | None = Field(default=None, min_length=1, description=(
        "`choices` only (and required there): the values a labeler picks one of; a value is a string, or "
        "`{value: high, renamed_from: severe}` to rename it."))
    required: bool = Field(default=False, description=(
        "Label Studio refuses to submit an annotation without it (for a region field: on every region)."))
    min: float | None = Field(default=None, description="`number` only: the smallest value accepted.")
    max: float | None = Field(default=None, description="`number` only: the largest value accepted.")

    @property
    def choices(self) -> tuple[str, ...]:
        """The values as strings, in order (none for a field that is no choices field)."""
        return tuple(v if isinstance(v, str) else v.value for v in self.values or ())

    @property
    def choice_renames(self) -> dict[str, str]:
        """Former value -> its value, from every value's ``renamed_from``."""
        return {old: v.value for v in self.values or () if isinstance(v, ChoiceSpec) for old in v.renamed_from}

    def problems(self) -> list[tuple[FieldPath, str]]:
        found: list[tuple[FieldPath, str]] = []
        if self.type == "choices" and self.values is None:
            found.append((("values",), "a choices field needs values, e.g. values: [low, medium, high]"))
        if self.type != "choices" and self.values is not None:
            found.append((("values",), f"values go with type: choices, not {self.type}"))
        if len(set(self.choices)) != len(self.choices):
            found.append((("values",), "a value is listed twice"))
        found += self._choice_rename_problems()
        for key in ("min", "max"):
            if self.type != "number" and getattr(self, key) is not None:
                found.append(((key,), f"{key} goes with type: number, not {self.type}"))
        if self.min is not None and self.max is not None and self.min > self.max:
            found.append((("max",), f"max {self.max:g} is below min {self.min:g}"))
        return found

    def _choice_rename_problems(self) -> list[tuple[FieldPath, str]]:
        """A former value must be no current value of the field and belong to one value only."""
        found: list[tuple[FieldPath, str]] = []
        claimed: dict[str, str] = {}
        for i, choice in enumerate(self.values or ()):
            if isinstance(choice, str):
                continue
            for j, old in enumerate(choice.renamed_from):
                path: FieldPath = ("values", i, "renamed_from", j)
                if old in self.choices:
                    found.append((path, f"renamed_from names {old!r}, which is a value of field {self.name!r}; "
                                        "a former value cannot be a current one"))
                elif old in claimed:
                    found.append((path, f"renamed_from names {old!r}, which value {claimed[old]!r} was renamed "
                                        "from too; a former value goes to one value"))
                claimed.setdefault(old, choice.value)
        return found


class ProjectSpec(Strict):
    """A Label Studio project. ``name`` is its stable identity; ``title`` may change freely."""

    kind: Literal["Project"]
    name: Name = Field(description="The project's stable identity in lsts-sync.")
    instance: Name = Field(description="The Instance spec the project lives on.")
    title: str | None = Field(default=None, min_length=1, max_length=50, description=(
        "Label Studio's title, at most 50 characters (default: `name`); renaming updates the project in place."))
    description: str = Field(default="", description=(
        "Shown in Label Studio; lsts-sync appends its ownership marker line."))
    source: SourceSpec | None = Field(default=None, description="The S3 import storage: one task per object.")
    target: TargetSpec | None = Field(default=None, description=(
        "The S3 export storage: Label Studio writes each annotation there."))
    timeseries: TimeSeriesSpec = Field(description="The time series of the source's CSV files.")
    labels: tuple[LabelSpec, ...] = Field(min_length=1, description="The labels, one `<Label>` each (at least one).")
    settings: ProjectSettings = Field(default_factory=ProjectSettings, description=(
        "Label Studio's project settings that lsts-sync manages; a key left out stays as the UI sets it "
        "(docs/settings-and-webhooks.md)."))
    region_fields: tuple[FieldSpec, ...] = Field(default=(), description=(
        "Attributes labelers give each region (a severity, a fault code): one control per field with "
        "`perRegion`, one column per field in the exports (docs/spec.md#region-and-task-fields)."))
    task_fields: tuple[FieldSpec, ...] = Field(default=(), description=(
        "Attributes labelers give the whole task (its quality): one control per field, one column per field "
        "in the table export, on every row of the task."))

    @property
    def display_title(self) -> str:
        return self.title or self.name

    def with_channels(self, header: list[str]) -> ProjectSpec:
        """This project with ``channels: auto`` resolved against a CSV ``header`` (a copy), its
        names as the labeling UI reads them (``seriescsv.header``: quotes and spaces kept).

        Every column but the time column and the excluded ones, in header order, named as the UI
        matches it (``seriescsv.name_key``: a quoted ``"v"`` stays ``"v"``, so the template matches
        the data). The time column, the excluded columns and ``channel_settings`` are found by
        the name as meant (``seriescsv.loose_name``, case-insensitively): a quoted time column is
        not drawn as a channel (the data checks say the UI misses it), and ``v``'s settings apply
        to ``"v"``. The default legend is the name as meant, in the header's own case.
        """
        ts = self.timeseries
        skip = {c.strip().lower() for c in (ts.time_column, *ts.exclude_columns)}
        settings = {k.strip().lower(): v for k, v in ts.channel_settings.items()}
        meant = {name_key(h): loose_name(h) for h in reversed(header) if h.strip()}
        channels = []
        for column in dict.fromkeys(name_key(h) for h in header if h.strip()):
            if meant[column].lower() not in skip:
                chosen = settings.get(meant[column].lower(), ChannelSettings()).model_dump()
                channels.append(ChannelSpec(column=column, **{**chosen, "legend": meant[column] if chosen["legend"] is None else chosen["legend"]}))
        return self.model_copy(update={"timeseries": ts.model_copy(update={"channels": tuple(channels)})})

    def problems(self) -> list[tuple[FieldPath, str]]:
        """Rules across fields. Columns compare case-insensitively: Label Studio lowercases them."""
        found: list[tuple[FieldPath, str]] = []
        ts = self.timeseries
        if self.source is not None:
            found += [(("source", *path), message) for path, message in self.source.problems()]
            window = self.source.window
            if window is not None and window.duration is not None and not ts.time_format:
                found.append((("source", "window", "duration"), "duration windows need timeseries.time_format (the "
                              "time column as dates); without one, cut by rows: {rows: N, overlap_rows: M}"))
        if ts.display_format and not ts.time_format and ts.display_format.startswith("%"):
            found.append((("timeseries", "display_format"), "without time_format the labeling UI reads display_format "
                          "as a number format and the chart fails; set time_format too"))
        if ts.auto and self.source is None:
            found.append((("timeseries", "channels"), "channels: auto reads the header of the source's "
                           "first object, but this project has no source"))
        for key in ("exclude_columns", "channel_settings"):
            if getattr(ts, key) and not ts.auto:
                found.append((("timeseries", key), f"{key} applies only with channels: auto"))
        found += _repeated_columns([c.column for c in ts.channel_list], ts.time_column)
        declared = {c.column.strip().lower() for c in ts.channel_list}
        for i, name in enumerate(ts.overview):
            if name.strip().lower() not in declared and not ts.auto:
                found.append((("timeseries", "overview", i), f"overview names {name!r}, which is not a declared channel"))
        if self.settings.predictions_model_version and self.settings.show_predictions is False:
            found.append((("settings", "predictions_model_version"), "Label Studio clears the model version when "
                          "show_predictions is false; drop one of them"))
        found += self._field_problems()
        return found + _repeated_labels([label.value for label in self.labels]) + _rename_problems(self.labels)

    def _field_problems(self) -> list[tuple[FieldPath, str]]:
        """Each field's own rules, and names unique across region and task fields (they name
        controls of one template and columns of one table) and distinct from the channel columns
        (columns of the dense export)."""
        found: list[tuple[FieldPath, str]] = []
        channels = {c.column.strip().lower() for c in self.timeseries.channel_list}
        channels.add(self.timeseries.time_column.strip().lower())
        seen: dict[str, str] = {}
        for key in ("region_fields", "task_fields"):
            for i, spec in enumerate(getattr(self, key)):
                found += [((key, i, *path), message) for path, message in spec.problems()]
                where = f"{key}[{i}]"
                if spec.name.lower() in seen:
                    found.append(((key, i, "name"), f"duplicate field name {spec.name!r} (same as {seen[spec.name.lower()]})"))
                elif spec.name.lower() in channels:
                    found.append(((key, i, "name"), f"field name {spec.name!r} is a column of the series; "
                                  "the dense export could not tell them apart"))
                seen.setdefault(spec.name.lower(), where)
        return found + self._field_rename_problems()

    def _field_rename_problems(self) -> list[tuple[FieldPath, str]]:
        """A field's former name must be no current field, belong to one field only, and not be the
        labels' control (whose results a field cannot take over)."""
        found: list[tuple[FieldPath, str]] = []
        fields = [(key, i, spec) for key in ("region_fields", "task_fields") for i, spec in enumerate(getattr(self, key))]
        names = {spec.name for _, _, spec in fields}
        claimed: dict[str, str] = {}
        for key, i, spec in fields:
            for j, old in enumerate(spec.renamed_from):
                path: FieldPath = (key, i, "renamed_from", j)
                if old == CONTROL_NAME:
                    found.append((path, f"renamed_from names {old!r}, the control of the project's labels; a field "
                                        "cannot take over its results"))
                elif old in names:
                    found.append((path, f"renamed_from names {old!r}, which is a field of this project; a former "
                                        "name cannot be a current one"))
                elif old in claimed:
                    found.append((path, f"renamed_from names {old!r}, which field {claimed[old]!r} was renamed "
                                        "from too; a former name goes to one field"))
                claimed.setdefault(old, spec.name)
        return found

    @property
    def renames(self) -> dict[str, str]:
        """Former label name -> its label's value, from every label's ``renamed_from``."""
        return {old: label.value for label in self.labels for old in label.renamed_from}

    @property
    def field_renames(self) -> dict[str, str]:
        """Former field name -> its field's name, from every region and task field's ``renamed_from``."""
        return {old: spec.name for spec in (*self.region_fields, *self.task_fields) for old in spec.renamed_from}

    @property
    def choice_renames(self) -> dict[tuple[str, str], str]:
        """``(field, former value)`` -> its value, from the values' ``renamed_from`` (the field by
        its current name: a field's rename comes first)."""
        return {(spec.name, old): new for spec in (*self.region_fields, *self.task_fields)
                for old, new in spec.choice_renames.items()}

    @classmethod
    def draft_problems(cls, data: dict) -> list[tuple[FieldPath, str]]:
        """The rules of ``problems`` that hold on a document that failed validation (repeated
        channels and labels), read from its raw data, so that one pass reports every problem."""
        ts = data.get("timeseries") if isinstance(data.get("timeseries"), dict) else {}
        channels, labels = ts.get("channels"), data.get("labels")  # type: ignore[union-attr]
        columns = [c.get("column") if isinstance(c, dict) else None for c in channels] \
            if isinstance(channels, list) else []
        time_column = ts.get("time_column")  # type: ignore[union-attr]
        values = [label.get("value") if isinstance(label, dict) else None for label in labels] \
            if isinstance(labels, list) else []
        return _repeated_columns(columns, time_column if isinstance(time_column, str) else None) + \
            _repeated_labels(values)


def _repeated_columns(columns: list[object], time_column: str | None) -> list[tuple[FieldPath, str]]:
    """Channel columns given twice or naming the time column (case-insensitively: Label Studio
    lowercases them); entries that are not strings are skipped (their own error says why)."""
    found: list[tuple[FieldPath, str]] = []
    seen: dict[str, int] = {}
    for i, column in enumerate(columns):
        if not isinstance(column, str):
            continue
        key = column.strip().lower()
        if key in seen:
            found.append((("timeseries", "channels", i, "column"),
                          f"duplicate channel column {column!r} (same as channels[{seen[key]}])"))
        elif time_column is not None and key == time_column.strip().lower():
            found.append((("timeseries", "channels", i, "column"), f"channel column {column!r} is the time column"))
        seen.setdefault(key, i)
    return found


def _repeated_labels(values: list[object]) -> list[tuple[FieldPath, str]]:
    """Label values given twice (entries that are not strings are skipped)."""
    found: list[tuple[FieldPath, str]] = []
    seen: set[str] = set()
    for i, value in enumerate(values):
        if isinstance(value, str):
            if value in seen:
                found.append((("labels", i, "value"), f"duplicate label value {value!r}"))
            seen.add(value)
    return found


def _rename_problems(labels: tuple[LabelSpec, ...]) -> list[tuple[FieldPath, str]]:
    """A former name must be no current label and belong to one label only (else a region could
    not tell which label it becomes)."""
    found: list[tuple[FieldPath, str]] = []
    values = {label.value for label in labels}
    claimed: dict[str, str] = {}
    for i, label in enumerate(labels):
        for j, old in enumerate(label.renamed_from):
            path: FieldPath = ("labels", i, "renamed_from", j)
            if old in values:
                found.append((path, f"renamed_from names {old!r}, which is a label of this project; "
                                    "a former name cannot be a current one"))
            elif old in claimed:
                found.append((path, f"renamed_from names {old!r}, which label {claimed[old]!r} was renamed "
                                    "from too; a former name goes to one label"))
            claimed.setdefault(old, label.value)
    return found


EXPORT_FORMATS = (
    "table: the interval list, one row per label of each labeled interval (region), with a header: project, "
    "task_id, file, label, start, end, instant, annotation_id, annotator, updated_at, then one column per region "
    "field and task field. "
    "dense: the rows of every source file with a counted annotation, read from S3, with a label column: the "
    "labels of the regions whose closed interval holds the row's time, joined with '|' (with annotations: all, "
    "the union of every annotator's labels), then a column per region field filled the same way; a leading file "
    "column, or one file per source file with split. "
    "lookout (legacy): the label file of Amazon Lookout for Equipment, which AWS ended on 7 October 2026; "
    "distinct start,end pairs, no header; kept for existing pipelines. "
    "An output (or split name) ending in .parquet is written as Parquet (the parquet extra: pyarrow)."
)


class ExportSpec(Strict):
    """A label CSV output written by ``lsts-sync export``."""

    kind: Literal["Export"]
    name: Name = Field(description="The export's name (`lsts-sync export --name`).")
    project: Name = Field(description="The Project spec whose annotations are exported.")
    format: Literal["table", "dense", "lookout"] = Field(default="table", description=EXPORT_FORMATS)
    labels: tuple[NonEmpty, ...] | None = Field(default=None, description="Only these labels (default: all).")
    time_format: TimeFormat | None = Field(default=None, description=(
        "`lookout` only: re-format start and end from the project's `time_format` (d3 semantics, UTC)."))
    annotations: Literal["latest", "all"] = Field(default="latest", description=(
        "`latest`: the most recently updated non-cancelled annotation of each task; `all`: every non-cancelled one."))
    split: Split | None = Field(default=None, description=(
        "A name with `{stem}` or `{file}` (no other placeholder): also write one file per source file next to "
        "`output` (`dense`: only those, and `output` gives their folder)."))
    output: Annotated[str, AfterValidator(_check_output)] = Field(description=(
        "A local path or `s3://bucket/key` (its bucket must be a Bucket spec); a name ending in `.parquet` "
        "(also a `split` name) is written as Parquet."))

    @property
    def output_bucket(self) -> str | None:
        parts = split_s3_url(self.output)  # validated: an S3 output names bucket and key
        return parts[0] if parts else None

    @property
    def output_is_folder(self) -> bool:
        """True for an output ending in '/': the folder of the ``split`` files, no file of its own."""
        return self.output.endswith("/")

    def problems(self) -> list[tuple[FieldPath, str]]:
        found: list[tuple[FieldPath, str]] = []
        if self.output_is_folder and not self.split:
            found.append((("output",), f"output {self.output!r} is a folder: set split to write one file per source "
                          "file there, or name a file"))
        if self.labels is not None and len(set(self.labels)) != len(self.labels):
            found.append((("labels",), "duplicate label in labels"))
        if self.format == "lookout":
            for key in ("output", "split"):
                if (getattr(self, key) or "").lower().endswith(".parquet"):
                    found.append(((key,), "the legacy lookout format is a CSV file; write Parquet with format "
                                          "table or dense"))
        return found


def _check_input(value: str) -> str:
    """A predictions file: a local path (relative to the spec file) or ``s3://bucket/key``."""
    return _file_location("file", value)


class PredictionColumns(Strict):
    """Column names of a predictions file; each defaults to its own key."""

    file: NonEmpty = Field(default="file", description=(
        "The task's source: its S3 key (or `s3://bucket/key` in the source's bucket)."))
    start: NonEmpty = Field(default="start", description=(
        "The region's start, in the project's `time_format`, else ISO 8601 (UTC without an offset)."))
    end: NonEmpty = Field(default="end", description="The region's end (start equal to end: an instant).")
    label: NonEmpty = Field(default="label", description="One of the project's labels.")
    score: NonEmpty = Field(default="score", description="The region's score (optional: a missing column or empty cell gives none).")


class PredictionsSpec(Strict):
    """A model's output, written into a project as Label Studio predictions of ``model_version``.

    ``file`` holds one row per predicted region: the task's source key, start, end, label, an
    optional score and optionally a value per region field of the project. It is the whole set
    for that model version in that project: plan adds, replaces and removes that version's
    predictions to match it, and never touches other versions.
    """

    kind: Literal["Predictions"]
    name: Name = Field(description="The predictions' name.")
    project: Name = Field(description=(
        "A Project spec with a `source` (predictions attach to the tasks it imports)."))
    model_version: str = Field(min_length=1, max_length=255, description=(
        "Label Studio's `model_version` of these predictions (at most 255 characters); one Predictions spec per "
        "model version and project."))
    file: Annotated[str, AfterValidator(_check_input)] = Field(description=(
        "The model's output: a local path (relative to the spec file) or `s3://bucket/key` (read through its "
        "Bucket spec, which must exist)."))
    format: Literal["csv", "parquet"] | None = Field(
        default=None, description="csv or parquet; default: parquet for a name ending .parquet or .pq, else csv")
    columns: PredictionColumns = Field(default_factory=PredictionColumns, description=(
        "The file's column names. A column named exactly like a region field of the project gives each "
        "region that field's value (docs/predictions.md#region-fields-in-a-predictions-file)."))

    @property
    def file_bucket(self) -> str | None:
        parts = split_s3_url(self.file)  # validated: an S3 file names bucket and key
        return parts[0] if parts else None

    @property
    def file_format(self) -> str:
        if self.format:
            return self.format
        return "parquet" if self.file.lower().endswith((".parquet", ".pq")) else "csv"

    def problems(self) -> list[tuple[FieldPath, str]]:
        names = self.columns.model_dump()
        seen: dict[str, str] = {}
        for key, column in names.items():
            if column in seen:
                return [(("columns", key), f"column {column!r} is already the {seen[column]} column")]
            seen[column] = key
        return []


# The actions a project's webhook can carry in Label Studio 1.23.2 (webhooks/models.py; PROJECT_CREATED
# and PROJECT_DELETED are organisation-only).
WebhookAction = Literal["PROJECT_UPDATED", "TASKS_CREATED", "TASKS_DELETED", "ANNOTATION_CREATED",
                        "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED", "LABEL_LINK_CREATED",
                        "LABEL_LINK_UPDATED", "LABEL_LINK_DELETED"]
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")  # Label Studio's HEADERS_SCHEMA
WEBHOOK_MARKER_HEADER = "X-Lsts-Sync-Marker"  # carries a webhook's ownership marker (resources.markers)
MAX_HEADERS = 9  # Label Studio takes 10 headers; one carries the ownership marker


def _check_header_names(value: dict[str, SecretStr]) -> dict[str, SecretStr]:
    for name in value:
        if not HEADER_NAME_RE.match(name):
            raise ValueError(f"invalid header name {name!r}: letters, digits, '-' and '_' only")
        if name.lower() == WEBHOOK_MARKER_HEADER.lower():
            raise ValueError(f"header {name!r} is lsts-sync's own: it carries the ownership marker")
    if len({name.lower() for name in value}) != len(value):
        raise ValueError("two headers differ only in case")
    return value


class WebhookSpec(Strict):
    """A project's webhook: Label Studio calls ``url`` on each of ``actions`` (omitted: every action).

    ``headers`` values are secrets (``SecretStr``): written to Label Studio, never read back,
    compared or shown; a changed value is sent with ``--rotate-credentials`` or with any other change.
    """

    kind: Literal["Webhook"]
    name: Name = Field(description="The webhook's name, its identity within its project.")
    project: Name = Field(description="The Project spec whose Label Studio project calls it.")
    url: HttpUrl = Field(description="What Label Studio calls (checked against its SSRF rules unless they are off).")
    actions: tuple[WebhookAction, ...] | None = Field(default=None, min_length=1, description=(
        "The actions that call it (default: every action)."))
    send_payload: bool = Field(default=True, description="Send the changed objects, not only the action.")
    active: bool = Field(default=True, description="Label Studio's `is_active`.")
    headers: Annotated[dict[str, SecretStr], AfterValidator(_check_header_names)] = Field(
        default_factory=dict, max_length=MAX_HEADERS, description=(
            "Headers sent with each call, at most 9; their values are secrets: written, never read back or shown."))

    def problems(self) -> list[tuple[FieldPath, str]]:
        if self.actions is not None and len(set(self.actions)) != len(self.actions):
            return [(("actions",), "an action is listed twice")]
        return []


Spec = InstanceSpec | BucketSpec | ProjectSpec | ExportSpec | PredictionsSpec | WebhookSpec
KINDS: dict[str, type[InstanceSpec] | type[BucketSpec] | type[ProjectSpec] | type[ExportSpec] | type[PredictionsSpec]
            | type[WebhookSpec]] = {
    "Instance": InstanceSpec,
    "Bucket": BucketSpec,
    "Project": ProjectSpec,
    "Export": ExportSpec,
    "Predictions": PredictionsSpec,
    "Webhook": WebhookSpec,
}
