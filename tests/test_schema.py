"""The JSON Schema that ``lsts-sync schema`` prints for editors accepts what the loader accepts:
every document of the example specs, of the shared spec contract and of the docs' valid examples,
and refuses a key the loader refuses. (An editor that flagged a valid spec would teach people to
ignore it.)"""

from __future__ import annotations

from pathlib import Path

import jsonschema  # the independent reader of the schema (a test dependency, as editors read it)
import pytest
import yaml

from lsts_sync.spec.models import KINDS
from lsts_sync.spec.schema import spec_schema

from .test_docs import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.glob("specs/*.yaml"), *(ROOT.parent / "shared" / "examples").glob("*.yaml")])
VALIDATOR = jsonschema.Draft202012Validator(spec_schema())


def documents(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_document_of_the_spec_files_is_valid_for_the_schema(path: Path) -> None:
    for doc in documents(path.read_text()):
        assert [e.message for e in VALIDATOR.iter_errors(doc)] == [], f"{path}: {doc.get('kind')} {doc.get('name')}"


@pytest.mark.parametrize("block", [b for b in EXAMPLES if not b.marker], ids=str)
def test_every_valid_docs_example_is_valid_for_the_schema(block) -> None:
    for doc in documents(block.text):
        assert [e.message for e in VALIDATOR.iter_errors(doc)] == [], f"{block}: {doc.get('kind')} {doc.get('name')}"


def test_the_schema_has_every_kind_the_loader_reads() -> None:
    named = {ref["$ref"].rsplit("/", 1)[1] for ref in spec_schema()["oneOf"]}
    assert named == {model.__name__ for model in KINDS.values()} and "WebhookSpec" in named


def test_a_former_name_is_a_string_or_a_list_as_the_loader_reads_it() -> None:
    label = {"kind": "Project", "name": "p", "instance": "local", "source": {"bucket": "b"},
             "timeseries": {"time_column": "t", "time_format": "%s", "channels": [{"column": "v"}]},
             "labels": [{"value": "Gap", "renamed_from": "Missing"}]}
    assert list(VALIDATOR.iter_errors(label)) == []
    label["labels"][0]["renamed_from"] = ["Missing", "Hole"]
    assert list(VALIDATOR.iter_errors(label)) == []
    label["labels"][0]["renamed_from"] = 3
    assert list(VALIDATOR.iter_errors(label))


def test_a_misspelt_key_is_an_error_for_the_schema_too() -> None:
    hook = {"kind": "Webhook", "name": "w", "project": "p", "url": "https://ci.example.com/h", "actions": ["ANNOTATION_CREATED"]}
    assert [e.message for e in VALIDATOR.iter_errors({**hook, "send_payload": True})] == []
    errors = list(VALIDATOR.iter_errors({**hook, "urll": "x"}))
    assert errors and any("'urll' was unexpected" in sub.message for e in errors for sub in e.context)
