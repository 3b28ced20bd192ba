"""JSON Schema of spec documents, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from lsts_sync.spec.models import BucketSpec, ExportSpec, InstanceSpec, PredictionsSpec, ProjectSpec


def spec_schema() -> dict:
    """One schema accepting any of the five kinds, discriminated by ``kind``."""
    kinds = InstanceSpec | BucketSpec | ProjectSpec | ExportSpec | PredictionsSpec
    union = Annotated[kinds, Field(discriminator="kind")]
    schema = TypeAdapter(union).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "lsts-sync spec document"
    return schema
