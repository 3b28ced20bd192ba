"""Load spec documents from files and folders, with line numbers for every value.

Contract: ``load_specs(paths)`` never raises for bad input; it returns the specs it could build and
every problem it found (YAML syntax, unknown/missing keys, wrong types, unknown references, ...).
YAML is composed to nodes first so each value's line is known; ``${VAR}`` / ``${VAR:-default}`` are
expanded in string scalars afterwards, so line numbers always point at the user's text.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from lsts_sync.core.problems import FieldPath, Problem
from lsts_sync.spec.models import (
    KINDS,
    BucketSpec,
    ExportSpec,
    InstanceSpec,
    PredictionsSpec,
    ProjectSpec,
    Spec,
    WebhookSpec,
)

# libyaml's parser (C) when PyYAML has it: it composes the same nodes with the same line marks as
# the Python parser, about ten times faster (200 project specs: 0.5 s of CPU with the Python parser).
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


@dataclass(frozen=True)
class SpecLocation:
    """Where a spec was defined, and the line of each of its values (by path)."""

    file: str
    line: int
    lines: Mapping[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int:
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return self.line


@dataclass
class SpecSet:
    """All loaded specs by kind and name, with where each one was defined."""

    instances: dict[str, InstanceSpec] = field(default_factory=dict)
    buckets: dict[str, BucketSpec] = field(default_factory=dict)
    projects: dict[str, ProjectSpec] = field(default_factory=dict)
    exports: dict[str, ExportSpec] = field(default_factory=dict)
    locations: dict[tuple[str, str], SpecLocation] = field(default_factory=dict)
    predictions: dict[str, PredictionsSpec] = field(default_factory=dict)
    webhooks: dict[str, WebhookSpec] = field(default_factory=dict)

    def by_kind(self, kind: str) -> dict[str, Spec]:
        return {"Instance": self.instances, "Bucket": self.buckets, "Project": self.projects,
                "Export": self.exports, "Predictions": self.predictions,
                "Webhook": self.webhooks}[kind]  # type: ignore[return-value]

    @property
    def owner(self) -> str:
        """The spec set's owner (every Instance spec must declare the same; ``check_references``)."""
        return min((i.owner for i in self.instances.values()), default="default")

    def lock_bucket(self, instance: str) -> str | None:
        """Where the apply lock for ``instance`` lives: its ``lock_bucket``, else the first Bucket spec."""
        return self.instances[instance].lock_bucket or min(self.buckets, default=None)

    def summary(self) -> str:
        return (f"{len(self.instances)} instances, {len(self.buckets)} buckets, "
                f"{len(self.projects)} projects, {len(self.exports)} exports, {len(self.predictions)} predictions"
                + (f", {len(self.webhooks)} webhooks" if self.webhooks else ""))


@dataclass
class _Doc:
    file: str
    line: int
    data: object
    lines: dict[FieldPath, int]
    interpolated: set[FieldPath]


def find_files(paths: Iterable[str]) -> list[str]:
    """Expand files and folders (recursively) into a sorted list of ``*.yaml``/``*.yml`` files."""
    found: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found.extend(str(f) for f in sorted(p.rglob("*")) if f.suffix in (".yaml", ".yml") and f.is_file())
        else:
            found.append(str(p))
    return found


class _Reader:
    """Turns composed YAML nodes into plain data, recording lines and expanding variables."""

    def __init__(self, file: str, env: Mapping[str, str], problems: list[Problem], require_env: bool):
        self.file, self.env, self.problems, self.require_env = file, env, problems, require_env
        self.lines: dict[FieldPath, int] = {}
        self.interpolated: set[FieldPath] = set()
        self.constructor = yaml.constructor.SafeConstructor()

    def read(self, node: yaml.Node, path: FieldPath) -> object:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.read(child, path + (i,)) for i, child in enumerate(node.value)]
        value = self.constructor.construct_object(node)
        if isinstance(value, str) and "${" in value:
            self.interpolated.add(path)
            return self._expand(value, node.start_mark.line + 1, path)
        return value

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[str, object]:
        self.constructor.flatten_mapping(node)
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = str(self.constructor.construct_object(key_node))
            if key in result:
                self.problems.append(Problem(self.file, key_node.start_mark.line + 1,
                                             f"duplicate key {key!r}", path=path + (key,)))
            result[key] = self.read(value_node, path + (key,))
            self.lines[path + (key,)] = key_node.start_mark.line + 1
        return result

    def _expand(self, value: str, line: int, path: FieldPath) -> str:
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            severity: Literal["error", "warning"] = "error" if self.require_env else "warning"
            self.problems.append(Problem(self.file, line, f"environment variable {name} is not set and has no default",
                                         path=path, severity=severity))
            return ""
        return _VAR.sub(substitute, value)


def _read_file(file: str, env: Mapping[str, str], problems: list[Problem], require_env: bool) -> list[_Doc]:
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(file, 0, f"cannot read file: {exc.__class__.__name__}: {getattr(exc, 'strerror', '') or exc}", yaml=True))
        return []
    try:
        return _compose(file, text, env, problems, require_env, FAST_LOADER)
    except yaml.YAMLError:
        pass  # libyaml's messages differ: read the file again with the Python parser, which words them
    try:
        return _compose(file, text, env, problems, require_env, yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 0
        message = " ".join(str(getattr(exc, "problem", None) or exc).split())
        problems.append(Problem(file, line, message, yaml=True))
    return []


def _compose(file: str, text: str, env: Mapping[str, str], problems: list[Problem], require_env: bool,
             loader: type) -> list[_Doc]:
    """Every document of ``text``; problems are added to ``problems`` only if the whole text parses
    (raises ``yaml.YAMLError`` otherwise, adding nothing)."""
    docs: list[_Doc] = []
    found_all: list[Problem] = []
    for node in yaml.compose_all(text, Loader=loader):
        if node is None:
            continue
        found: list[Problem] = []
        reader = _Reader(file, env, found, require_env)
        data = reader.read(node, ())
        docs.append(_Doc(file, node.start_mark.line + 1, data, reader.lines, reader.interpolated))
        kind, name = (data.get("kind"), data.get("name")) if isinstance(data, dict) else (None, None)
        found_all.extend(replace(p, kind=kind if isinstance(kind, str) else None,
                                 name=name if isinstance(name, str) else None) for p in found)
    problems.extend(found_all)
    return docs


def _line_for(doc: _Doc, path: FieldPath) -> int:
    """The line of the longest prefix of ``path`` that the document holds."""
    return SpecLocation(doc.file, doc.line, doc.lines).line_of(path)


def _message(error: ErrorDetails, model: type, path: FieldPath) -> str:
    kind = error["type"]
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        hint = _suggest(model, path)
        return "unknown key" + (f" (did you mean {hint!r}?)" if hint else "")
    if kind == "too_short" and error.get("ctx", {}).get("min_length") == 1:
        return "must not be empty"
    if kind == "literal_error" and path[-1:] == ("channels",):
        return "expected 'auto' or a list of channels"
    message = error["msg"]
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _suggest(model: type, path: FieldPath) -> str | None:
    """Closest field name to an unknown key, walking nested models along ``path``."""
    for part in path[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return None
        model = _inner_model(info.annotation)
    fields = list(getattr(model, "model_fields", {}))
    close = difflib.get_close_matches(str(path[-1]), fields, n=1)
    return close[0] if close else None


def _inner_model(annotation: object) -> type:
    """The first model an annotation holds, however deep (through unions, tuples and Annotated)."""
    from typing import get_args
    if hasattr(annotation, "model_fields"):
        return annotation  # type: ignore[return-value]
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not object:
            return found
    return object


def _build(doc: _Doc, problems: list[Problem]) -> Spec | None:
    """Validate one document against its kind's model; report problems at their lines."""
    data = doc.data
    if not isinstance(data, dict):
        problems.append(Problem(doc.file, doc.line, "a spec document must be a mapping with a 'kind' key"))
        return None
    kind, name = data.get("kind"), data.get("name")
    name = name if isinstance(name, str) else None
    model = KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        message = "missing required key" if kind is None else f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}"
        problems.append(Problem(doc.file, _line_for(doc, ("kind",)), message, None, name, ("kind",)))
        return None
    try:
        spec = model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        # union tags ("[auto]", "[list]") are not part of the user's document
        paths = [tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("["))) for e in errors]
        # a typo gives an unknown key whose suggestion is the missing one: report the typo only
        typos = {path[:-1] + (_suggest(model, path),) for error, path in zip(errors, paths, strict=True)
                 if error["type"] == "extra_forbidden"}
        for error, path in zip(errors, paths, strict=True):
            if error["type"] == "missing" and path in typos:
                continue
            if error["type"] == "too_short" and any(
                    len(other) > len(path) and other[:len(path)] == path for other in paths):
                continue  # an item failed, so the collection looks short: report the item only
            problems.append(Problem(doc.file, _line_for(doc, path), _message(error, model, path), kind, name, path))
        draft = getattr(model, "draft_problems", None)  # rules across fields that hold on the raw data too
        for path, message in draft(data) if draft else ():
            if path not in paths:
                problems.append(Problem(doc.file, _line_for(doc, path), message, kind, name, path))
        return None
    for path, message in spec.problems():
        problems.append(Problem(doc.file, _line_for(doc, path), message, kind, name, path))
    if isinstance(spec, InstanceSpec) and ("token",) not in doc.interpolated:
        problems.append(Problem(doc.file, _line_for(doc, ("token",)),
                                "token is written literally; read it from the environment, e.g. ${LABEL_STUDIO_API_KEY}",
                                kind, name, ("token",), severity="warning"))
    return spec


def load_specs(paths: Iterable[str], *, env: Mapping[str, str] | None = None,
               require_env: bool = True) -> tuple[SpecSet, list[Problem]]:
    """Load every spec under ``paths``. Returns the specs and all problems (errors and warnings).

    ``require_env=False`` turns unset variables into warnings: ``validate`` checks shape offline,
    where secrets such as the token are often not available.
    """
    env = os.environ if env is None else env
    problems: list[Problem] = []
    specs = SpecSet()
    files = find_files(paths)
    if not files:
        problems.append(Problem(",".join(paths) or ".", 0, "no spec files (*.yaml, *.yml) found", yaml=True))
    failed: set[tuple[str, str]] = set()  # (kind, name) of documents with errors: no reference errors for them
    for file in files:
        for doc in _read_file(file, env, problems, require_env):
            spec = _build(doc, problems)
            if spec is None:
                data = doc.data if isinstance(doc.data, dict) else {}
                if isinstance(data.get("kind"), str) and isinstance(data.get("name"), str):
                    failed.add((data["kind"], data["name"]))
                continue
            registry = specs.by_kind(spec.kind)
            if spec.name in registry:
                first = specs.locations[(spec.kind, spec.name)]
                problems.append(Problem(doc.file, _line_for(doc, ("name",)),
                                        f"duplicate {spec.kind} name (first defined at {first.file}:{first.line})",
                                        spec.kind, spec.name, ("name",)))
                continue
            registry[spec.name] = spec
            specs.locations[(spec.kind, spec.name)] = SpecLocation(doc.file, doc.line, doc.lines)
    problems.extend(p for p in check_references(specs) if not _refers_to(p, failed))
    return specs, problems


def _refers_to(problem: Problem, failed: set[tuple[str, str]]) -> bool:
    """True for a reference error whose target is a document that failed on its own (one mistake, one line)."""
    return any(problem.message == f"{kind} {name!r} is not defined by any spec" for kind, name in failed)


def check_references(specs: SpecSet) -> list[Problem]:
    """Every instance, bucket and project a spec names must be defined by some spec."""
    found: list[Problem] = []

    def missing(kind: str, name: str, path: FieldPath, ref_kind: str, ref: str, known: Mapping[str, object]) -> None:
        if ref not in known:
            location = specs.locations[(kind, name)]
            found.append(Problem(location.file, location.line_of(path),
                                 f"{ref_kind} {ref!r} is not defined by any spec", kind, name, path))

    for name, project in specs.projects.items():
        missing("Project", name, ("instance",), "Instance", project.instance, specs.instances)
        for part in ("source", "target"):
            storage = getattr(project, part)
            if storage is not None:
                missing("Project", name, (part, "bucket"), "Bucket", storage.bucket, specs.buckets)
    owners = {instance.owner for instance in specs.instances.values()}
    for name, instance in specs.instances.items():
        if instance.lock_bucket:
            missing("Instance", name, ("lock_bucket",), "Bucket", instance.lock_bucket, specs.buckets)
        if len(owners) > 1 and instance.owner != specs.owner:
            location = specs.locations[("Instance", name)]
            found.append(Problem(location.file, location.line_of(("owner",)), f"owner {instance.owner!r} differs from "
                                 f"owner {specs.owner!r} of another Instance: one spec set has one owner",
                                 "Instance", name, ("owner",)))
    for name, export in specs.exports.items():
        missing("Export", name, ("project",), "Project", export.project, specs.projects)
        if export.output_bucket:
            missing("Export", name, ("output",), "Bucket", export.output_bucket, specs.buckets)
    for name, webhook in specs.webhooks.items():
        missing("Webhook", name, ("project",), "Project", webhook.project, specs.projects)
    found.extend(_check_predictions(specs, missing))
    return found


def _check_predictions(specs: SpecSet, missing) -> list[Problem]:
    """Predictions name a declared project with a source (predictions attach to its imported
    tasks), an s3:// file's bucket is a Bucket spec (its endpoint and credentials are used), no
    column of the spec's is named like a region field of the project (that name is the field's
    column), and one model version of one project is declared once."""
    found: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}
    for name, spec in sorted(specs.predictions.items()):
        location = specs.locations[("Predictions", name)]
        missing("Predictions", name, ("project",), "Project", spec.project, specs.projects)
        if spec.file_bucket:
            missing("Predictions", name, ("file",), "Bucket", spec.file_bucket, specs.buckets)
        project = specs.projects.get(spec.project)
        if project is not None and project.source is None:
            found.append(Problem(location.file, location.line_of(("project",)), f"project {spec.project!r} has no "
                                 "source: predictions attach to the tasks its source imports", "Predictions", name,
                                 ("project",)))
        fields = {f.name for f in project.region_fields} if project is not None else set()
        for key, column in spec.columns.model_dump().items():
            if column in fields:
                found.append(Problem(location.file, location.line_of(("columns", key)), f"the {key} column "
                                     f"{column!r} is also a region field of project {spec.project!r} (a column of "
                                     f"that name gives the field's values): name the {key} column otherwise under "
                                     "columns:", "Predictions", name, ("columns", key)))
        first = seen.setdefault((spec.project, spec.model_version), name)
        if first != name:
            found.append(Problem(location.file, location.line_of(("model_version",)), f"model_version "
                                 f"{spec.model_version!r} of project {spec.project!r} is already declared by "
                                 f"Predictions {first!r}", "Predictions", name, ("model_version",)))
    return found
