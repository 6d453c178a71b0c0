"""The JSON Schema (2020-12) of story files, generated from engine/spec.py: one source of truth."""

from __future__ import annotations

from . import spec
from .spec import Field, Shape

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://aoud-adventure.invalid/story.schema.json"
ID = {"type": "string", "pattern": spec.ID_PATTERN}
IDS = {"anyOf": [ID, {"type": "array", "items": ID}]}
_ID_OPS = ("gain", "lose", "join", "leave", "die", "turn", "bite", "cure", "carrier", "clear")


def story_schema() -> dict:
    """The schema of any file in a story directory (the manifest or a scene file)."""
    defs: dict = {}
    top = _shape(spec.MANIFEST, defs, top=True)
    top.update({
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "aoud-adventure story file",
        "description": "A file of an aoud-adventure story: story.yaml (the manifest: title, start, "
                       "declarations) or a scene file (nodes, place). See docs/format.md.",
        "$defs": defs,
    })
    return top


def _shape(shape: Shape, defs: dict, top: bool = False) -> dict:
    """The schema of a shape; shapes other than the top one are put in $defs and referenced."""
    name = shape.name.replace(" ", "-")
    if not top and name in defs:
        return {"$ref": f"#/$defs/{name}"}
    body: dict = {"type": "object", "description": shape.doc, "additionalProperties": False}
    if not top:
        defs[name] = body
    body["properties"] = {key: _field(f, defs) for key, f in shape.fields.items()}
    required = [key for key, f in shape.fields.items() if f.required and not top]
    if required:
        body["required"] = required
    if shape.one_of:
        body["allOf"] = [{"oneOf": [{"required": [key]} for key in group]} for group in shape.one_of]
    return body if top else {"$ref": f"#/$defs/{name}"}


def _field(f: Field, defs: dict) -> dict:
    kind = f.kind
    if kind in ("str", "text"):
        out: dict = {"type": "string"}
        if f.enum:
            out["enum"] = list(f.enum)
    elif kind == "id":
        out = dict(ID)
    elif kind == "int":
        out = {"type": "integer"}
        if f.minimum is not None:
            out["minimum"] = f.minimum
    elif kind == "bool":
        out = {"type": "boolean"}
    elif kind == "condition":
        out = {"type": ["string", "boolean"]}
    elif kind == "ids":
        out = dict(IDS)
    elif kind == "effects":
        out = {"type": "array", "items": _effect(defs)}
    elif kind == "object":
        out = _shape(f.shape, defs)
    elif kind == "map":
        out = {"type": "object", "propertyNames": ID, "additionalProperties": _shape(f.shape, defs)}
    elif kind == "list":
        out = {"type": "array", "items": _shape(f.shape, defs)}
    else:
        raise ValueError(kind)
    if "$ref" in out:
        return {"$ref": out["$ref"], "description": f.doc}
    out["description"] = f.doc
    return out


def _effect(defs: dict) -> dict:
    if "effect" not in defs:
        values = {op: dict(IDS) for op in _ID_OPS}
        values["set"] = {"anyOf": [ID, {"type": "array", "items": ID},
                                   {"type": "object", "propertyNames": ID,
                                    "additionalProperties": {"type": ["boolean", "integer"]}}]}
        values["add"] = {"type": "object", "propertyNames": ID, "additionalProperties": {"type": "integer"}}
        for op, schema in values.items():
            schema["description"] = spec.EFFECT_DOCS[op]
        defs["effect"] = {
            "description": "One effect: a mapping with exactly one key, such as `gain: mop` or `add: {noise: 1}`.",
            "type": "object",
            "minProperties": 1,
            "maxProperties": 1,
            "additionalProperties": False,
            "properties": values,
        }
    return {"$ref": "#/$defs/effect"}
