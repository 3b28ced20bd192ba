"""JSON Schema of spec documents, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from functools import reduce
from operator import or_
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from lsts_sync.spec.models import KINDS


def spec_schema() -> dict:
    """One schema accepting any kind of ``KINDS`` (the loader's list), discriminated by ``kind``."""
    kinds: Any = reduce(or_, KINDS.values())
    schema = TypeAdapter(Annotated[kinds, Field(discriminator="kind")]).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lsts-sync spec document"
    return schema
