"""The published JSON Schema of the blueprint format (generated from the pydantic model)."""

from __future__ import annotations

from .model import Blueprint, Vocabulary


def blueprint_schema() -> dict:
    schema = Blueprint.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://cchc-xl.invalid/schema/blueprint.json"
    return schema


def vocabulary_schema() -> dict:
    schema = Vocabulary.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
