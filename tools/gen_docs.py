"""Write the generated parts of the docs: the spec reference from the pydantic models and their
``Field(description=...)``, and the command reference from the click commands' help.

A page holds ``<!-- generated: NAME -->`` ... ``<!-- end generated -->``; this tool replaces what is
between the two lines and leaves the rest of the page alone. NAME is ``spec-<kind>`` (lowercase kind,
e.g. ``spec-project``) or ``commands``. ``python tools/gen_docs.py`` rewrites every page that differs
(``make docs``); ``--check`` only names them and exits 1. ``tests/test_docs.py`` runs the check, so a
description changed without regenerating fails a test.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal, Union, get_args, get_origin

import click
from pydantic import AfterValidator, BaseModel, SecretStr
from pydantic.fields import FieldInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the lsts_sync of this checkout, wherever the tool is run from

from lsts_sync.cli.main import cli  # noqa: E402
from lsts_sync.spec import models  # noqa: E402

BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)
PAGES = ("README.md", "docs/*.md")

# Types named by their validator: the models' own aliases (models.Name, ...), so a rename shows here.
_NAMED = {models.Name: "name", models.BucketName: "S3 bucket name", models.HttpUrl: "http(s) URL",
          models.Color: "colour", models.TimeFormat: "d3 time format", models.Regex: "regular expression",
          models.Prefix: "key prefix", models.Split: "file name pattern"}
VALIDATOR_NAMES = {get_args(alias)[1].func: name for alias, name in _NAMED.items()}
SIMPLE_NAMES: dict[object, str] = {bool: "bool", int: "integer", float: "number", str: "string",
                                   SecretStr: "string (secret)"}


def _is_model(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def type_name(tp: object, metadata: tuple[object, ...] = ()) -> str:
    """How a field's type reads in the reference: ``name``, ``list of string``, `` `a` | `b` ``."""
    for item in metadata:
        if isinstance(item, AfterValidator) and item.func in VALIDATOR_NAMES:
            return VALIDATOR_NAMES[item.func]
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return type_name(args[0], tuple(args[1:]))
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in args if a is not type(None))
    if origin is Literal:
        return " | ".join(f"`{v}`" for v in args)
    if origin is tuple:
        return "list" if _is_model(args[0]) else f"list of {type_name(args[0])}"
    if origin is dict:
        return f"map of {type_name(args[0])} to settings"
    if _is_model(tp):
        return "mapping"
    return SIMPLE_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def default_text(info: FieldInfo) -> str:
    """The default as a spec would write it; ``required`` when there is none."""
    if info.is_required():
        return "required"
    value = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
    if value is None:
        return "none"
    if isinstance(value, BaseModel):
        return "the defaults below"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, tuple | list):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, dict):
        return "`{}`" if not value else f"`{value}`"
    return '`""`' if value == "" else f"`{value}`"


def _inner_models(tp: object) -> Iterator[tuple[str, type[BaseModel]]]:
    """The models a field holds, with the key suffix they are written under (``""`` or ``"[]"``)."""
    origin, args = get_origin(tp), get_args(tp)
    if _is_model(tp):
        yield "", tp  # type: ignore[misc]
    elif origin is Annotated:
        yield from _inner_models(args[0])
    elif origin in (Union, types.UnionType):
        for arg in args:
            yield from _inner_models(arg)
    elif origin is tuple:  # a list of models, or of values some of which are models
        yield from (("[]" + suffix, model) for suffix, model in _inner_models(args[0]))


def field_rows(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default, meaning) of every field, nested models' fields after their parent's; a
    model's own fields before those it inherits (a channel's ``column`` before its drawing settings)."""
    own = model.__dict__.get("__annotations__", {})
    for name, info in sorted(model.model_fields.items(), key=lambda item: item[0] not in own):
        if name == "kind":
            continue
        if not info.description:
            raise ValueError(f"{model.__name__}.{name} has no Field(description=...): the reference needs one")
        key = prefix + name
        yield key, type_name(info.annotation, tuple(info.metadata)), default_text(info), info.description
        for suffix, inner in _inner_models(info.annotation):
            yield from field_rows(inner, f"{key}{suffix}.")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def spec_table(kind: str) -> str:
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    rows += ["| " + " | ".join([f"`{key}`", *map(_cell, rest)]) + " |" for key, *rest in field_rows(models.KINDS[kind])]
    return "\n".join(rows) + "\n"


def _option_name(param: click.Parameter) -> str:
    names = ", ".join(f"`{o}`" for o in param.opts + param.secondary_opts)
    if isinstance(param, click.Option) and param.is_flag:
        return names
    metavar = param.metavar or param.type.name.upper().removesuffix(" RANGE")
    return f"{names} `{metavar}`"


def _option_meaning(param: click.Option) -> str:
    text = param.help or ""
    if param.multiple:
        text += " Repeatable." if "repeatable" not in text.lower() else ""
    if param.required:
        text += " Required."
    elif not param.is_flag and isinstance(param.default, int | float) and not isinstance(param.default, bool):
        text += f" Default: `{param.default:g}`."
    return _cell(text.strip())


def command_section(name: str, command: click.Command) -> str:
    ctx = click.Context(command, info_name=f"lsts-sync {name}")
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [f"### `lsts-sync {name}`", "", f"`lsts-sync {name} {usage}`", "", inspect.cleandoc(command.help or ""), ""]
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    if options:
        lines += ["| option | meaning |", "| --- | --- |"]
        lines += [f"| {_option_name(p)} | {_option_meaning(p)} |" for p in options]
        lines.append("")
    return "\n".join(lines)


def commands_reference() -> str:
    assert isinstance(cli, click.Group)
    ctx = click.Context(cli, info_name="lsts-sync")
    common = [p for p in cli.params if isinstance(p, click.Option) and not p.hidden]
    head = ["Every command: `lsts-sync [OPTIONS] COMMAND [ARGS]...` (also `python -m lsts_sync`), with",
            "", "| option | meaning |", "| --- | --- |"]
    head += [f"| {_option_name(p)} | {_cell(p.help or '')} |" for p in common] + [""]
    sections = [command_section(name, cli.get_command(ctx, name)) for name in cli.list_commands(ctx)]  # type: ignore[arg-type]
    return "\n".join(head) + "\n" + "\n".join(sections)


def render(name: str) -> str:
    """The text between a ``generated: NAME`` marker and its end."""
    if name == "commands":
        return commands_reference()
    kinds = {kind.lower(): kind for kind in models.KINDS}
    if name.startswith("spec-") and name[5:] in kinds:
        return spec_table(kinds[name[5:]])
    raise ValueError(f"unknown generated block {name!r}: expected commands or spec-<kind> ({', '.join(kinds)})")


def regenerate(text: str) -> str:
    """``text`` with every generated block rewritten from the code."""
    return BLOCK.sub(lambda m: m.group(1) + render(m.group("name")) + m.group(4), text)


def blocks(text: str) -> list[str]:
    return [m.group("name") for m in BLOCK.finditer(text)]


def pages(root: Path = ROOT) -> list[Path]:
    return sorted(p for pattern in PAGES for p in root.glob(pattern))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only name the pages that differ; exit 1 if any")
    check = parser.parse_args(argv).check
    stale = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        try:
            fresh = regenerate(text)
        except ValueError as exc:
            print(f"{page.relative_to(ROOT)}: {exc}", file=sys.stderr)
            return 1
        if fresh != text:
            stale.append(page.relative_to(ROOT))
            if not check:
                page.write_text(fresh, encoding="utf-8")
    for page in stale:
        print(f"{page}: {'differs from the code (run make docs)' if check else 'regenerated'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
