"""The official Bot API schema, used by the fake Bot API server to check every request.

`BotApiSchema` reads `shared/botapi/api.json` (see `shared/botapi/SOURCE.md`), which lives beside
the repository: `<repo>/../shared/botapi/api.json`, both on developer machines and in CI.

`check_call` turns the raw parameters of one call (strings from a query string or a form, or native
JSON values) into typed values and lists every way they break the schema: missing required
parameters, wrong scalar types, malformed JSON in nested objects, wrong field types inside objects
(recursively, up to `MAX_DEPTH` levels). Unknown parameters and unknown object fields are ignored,
as Telegram ignores them.

`build` makes a response object that has every field the schema requires, so the fake answers
with objects aiogram can parse without hand-listing dozens of always-false flags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_DEPTH = 8
_INTEGER = re.compile(r"-?\d{1,19}")
_TRUE_STRINGS = frozenset({"true", "1"})
_FALSE_STRINGS = frozenset({"false", "0"})
# Abstract types name the concrete one through a field whose description says which value it has.
_DISCRIMINATOR_VALUE = re.compile(r'(?:always|must be) [“"]?([a-z_]+)')
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_SCALAR_DEFAULTS: Mapping[str, Any] = {
    "Boolean": False,
    "True": True,
    "Integer": 0,
    "Float": 0.0,
    "String": "",
}


def default_schema_path() -> Path:
    """`shared/botapi/api.json` beside the repository that holds this file."""
    repo_root = Path(__file__).resolve().parents[2]
    return repo_root.parent / "shared" / "botapi" / "api.json"


class SchemaInvalid(Exception):
    """One place where a value breaks the schema; `path` names it like `reply_markup.x[0]`."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f'parameter "{path}" {problem}')
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Field:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str


@dataclass(frozen=True)
class TypeSpec:
    name: str
    fields: tuple[Field, ...]
    subtypes: tuple[str, ...]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    fields: tuple[Field, ...]


def _fields(raw: Mapping[str, Any]) -> tuple[Field, ...]:
    return tuple(
        Field(f["name"], tuple(f["types"]), bool(f["required"]), f.get("description", ""))
        for f in raw.get("fields", [])
    )


def _describe(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(value).__name__} {shown}"


class BotApiSchema:
    """Methods and types of the Bot API, with request checking and response building."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version: str = raw.get("version", "unknown")
        self.methods = {
            name.lower(): MethodSpec(name, _fields(spec)) for name, spec in raw["methods"].items()
        }
        self.types = {
            name: TypeSpec(name, _fields(spec), tuple(spec.get("subtypes", [])))
            for name, spec in raw["types"].items()
        }

    @classmethod
    def load(cls, path: Path | None = None) -> BotApiSchema:
        """Read api.json; a missing file is a setup problem, so say where it was looked for."""
        path = path or default_schema_path()
        if not path.is_file():
            msg = (
                f"Bot API schema not found at {path}. The fake Bot API needs the shared folder "
                "beside the repository: <repo>/../shared/botapi/api.json (see SOURCE.md there)."
            )
            raise FileNotFoundError(msg)
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def method(self, name: str) -> MethodSpec | None:
        """The method called `name`, ignoring case as Telegram does."""
        return self.methods.get(name.lower())

    def check_call(
        self, method: MethodSpec, params: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[SchemaInvalid]]:
        """Typed parameters of a call plus every schema problem found in them."""
        typed: dict[str, Any] = {}
        problems: list[SchemaInvalid] = []
        for field in method.fields:
            if field.name not in params:
                if field.required:
                    problems.append(SchemaInvalid(field.name, "is required"))
                continue
            try:
                typed[field.name] = self._top_level(params[field.name], field)
            except SchemaInvalid as problem:
                problems.append(problem)
        return typed, problems

    def check_object(self, type_name: str, value: Any, path: str = "result") -> None:
        """Raise SchemaInvalid unless `value` is a valid `type_name` (used on our own answers)."""
        self._check(value, (type_name,), path, 0)

    def build(self, type_name: str, **given: Any) -> dict[str, Any]:
        """A `type_name` object: `given` fields plus schema defaults for other required ones."""
        spec = self.types[type_name]
        obj = dict(given)
        for field in spec.fields:
            if field.required and field.name not in obj:
                obj[field.name] = self._default(field.types[0])
        return obj

    def _default(self, type_name: str) -> Any:
        if type_name.startswith("Array of "):
            return []
        if type_name in _SCALAR_DEFAULTS:
            return _SCALAR_DEFAULTS[type_name]
        return self.build(type_name)

    # -- checking --------------------------------------------------------------------------

    def _top_level(self, value: Any, field: Field) -> Any:
        """Form and query values are strings; decode them by the declared type, then check."""
        if not isinstance(value, str):
            return self._check(value, field.types, field.name, 0)
        failures: list[SchemaInvalid] = []
        for type_name in field.types:
            try:
                decoded = self._decode_string(value, type_name, field.name)
                return self._check(decoded, (type_name,), field.name, 0)
            except SchemaInvalid as problem:
                failures.append(problem)
        raise _merge(field.name, field.types, value, failures)

    def _decode_string(self, value: str, type_name: str, path: str) -> Any:
        if type_name in ("String", "InputFile"):
            return value
        if type_name == "Integer":
            if not _INTEGER.fullmatch(value):
                raise SchemaInvalid(path, f"must be Integer, got {_describe(value)}")
            return int(value)
        if type_name == "Float":
            try:
                return float(value)
            except ValueError:
                raise SchemaInvalid(path, f"must be Float, got {_describe(value)}") from None
        if type_name in ("Boolean", "True"):
            lowered = value.lower()
            if lowered in _TRUE_STRINGS or (type_name == "Boolean" and lowered in _FALSE_STRINGS):
                return lowered in _TRUE_STRINGS
            raise SchemaInvalid(path, f"must be {type_name}, got {_describe(value)}")
        try:
            return json.loads(value)
        except ValueError:
            raise SchemaInvalid(
                path, f"must be a JSON-serialized {type_name}, got {_describe(value)}"
            ) from None

    def _check(self, value: Any, types: tuple[str, ...], path: str, depth: int) -> Any:
        failures: list[SchemaInvalid] = []
        for type_name in types:
            try:
                return self._check_one(value, type_name, path, depth)
            except SchemaInvalid as problem:
                failures.append(problem)
        raise _merge(path, types, value, failures)

    def _check_one(self, value: Any, type_name: str, path: str, depth: int) -> Any:
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                raise SchemaInvalid(path, f"must be {type_name}, got {_describe(value)}")
            item = (type_name.removeprefix("Array of "),)
            return [self._check(v, item, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        if type_name in _SCALAR_DEFAULTS or type_name == "InputFile":
            if not _scalar_ok(value, type_name):
                raise SchemaInvalid(path, f"must be {type_name}, got {_describe(value)}")
            return value
        return self._check_object(value, self.types[type_name], path, depth)

    def _check_object(self, value: Any, spec: TypeSpec, path: str, depth: int) -> Any:
        if spec.subtypes:
            return self._check_abstract(value, spec, path, depth)
        if not isinstance(value, dict):
            raise SchemaInvalid(path, f"must be a {spec.name} object, got {_describe(value)}")
        if depth >= MAX_DEPTH:  # deeper than any real request nests; stop rather than recurse
            return value
        for field in spec.fields:
            if field.name in value:
                self._check(value[field.name], field.types, f"{path}.{field.name}", depth + 1)
            elif field.required:
                raise SchemaInvalid(f"{path}.{field.name}", f"is required in {spec.name}")
        return value

    def _check_abstract(self, value: Any, spec: TypeSpec, path: str, depth: int) -> Any:
        """Pick the concrete subtype named by the discriminator field, else try them all."""
        scalar_subtypes = tuple(s for s in spec.subtypes if s not in self.types)
        if not isinstance(value, dict):
            if scalar_subtypes:
                return self._check(value, scalar_subtypes, path, depth)
            raise SchemaInvalid(path, f"must be a {spec.name} object, got {_describe(value)}")
        by_tag = self._subtypes_by_tag(spec)
        for tag_field in _DISCRIMINATOR_FIELDS:
            if tag_field in value and by_tag.get(tag_field):
                concrete = by_tag[tag_field].get(value[tag_field])
                if concrete is None:
                    known = ", ".join(sorted(by_tag[tag_field]))
                    raise SchemaInvalid(
                        f"{path}.{tag_field}", f"must be one of {known} for {spec.name}"
                    )
                return self._check_object(value, self.types[concrete], path, depth)
        object_subtypes = tuple(s for s in spec.subtypes if s in self.types)
        return self._check(value, object_subtypes, path, depth)

    def _subtypes_by_tag(self, spec: TypeSpec) -> dict[str, dict[str, str]]:
        by_tag: dict[str, dict[str, str]] = {}
        for subtype in spec.subtypes:
            for field in self.types[subtype].fields if subtype in self.types else ():
                match = _DISCRIMINATOR_VALUE.search(field.description)
                if field.name in _DISCRIMINATOR_FIELDS and match:
                    by_tag.setdefault(field.name, {})[match.group(1)] = subtype
        return by_tag


def _scalar_ok(value: Any, type_name: str) -> bool:
    if type_name in ("String", "InputFile"):
        return isinstance(value, str)
    if type_name == "True":
        return value is True
    if type_name == "Boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):  # bool is an int subclass, but Telegram would not take it
        return False
    if type_name == "Integer":
        return isinstance(value, int)
    return isinstance(value, int | float)


def _merge(
    path: str, types: tuple[str, ...], value: Any, failures: list[SchemaInvalid]
) -> SchemaInvalid:
    """One problem for a union: the only one, the one that got deepest, or "must be X or Y"."""
    if len(failures) == 1:
        return failures[0]
    deeper = [f for f in failures if f.path != path]
    if deeper:
        return max(deeper, key=lambda f: len(f.path))
    return SchemaInvalid(path, f"must be {' or '.join(types)}, got {_describe(value)}")
