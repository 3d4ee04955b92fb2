"""The keys of the ECS API's requests and task definitions, and the check that refuses others.

ECS (and the AWS CLI before it) refuses a key its model does not have, so a misspelt
``placementConstraint`` would silently drop constraints if we ignored it. The table of keys is
generated from botocore's ECS model (botocore is only a test dependency) and committed beside
this module as ``ecs_shapes.json``; ``python -m placement.place.ecs_model`` regenerates it, and a
test asserts the committed table equals what botocore 1.44.8 gives.

The table maps each structure reachable from the roots to its members, each member written as a
short code: ``""`` a scalar, ``"Name"`` a structure, ``"[X]"`` a list of X, ``"{X}"`` a map whose
values are X (the keys of a map are free-form and never checked).
"""
from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path

from placement.errors import InputError

BOTOCORE_VERSION = "1.44.8"
TABLE_PATH = Path(__file__).with_name("ecs_shapes.json")

# what we read -> the botocore shape of its top level
ROOTS = {
    "RegisterTaskDefinition": "RegisterTaskDefinitionRequest",
    "TaskDefinition": "TaskDefinition",                       # as DescribeTaskDefinition returns it
    "DescribeTaskDefinition": "DescribeTaskDefinitionResponse",
    "RunTask": "RunTaskRequest",
    "CreateService": "CreateServiceRequest",
    "PlacementConstraint": "PlacementConstraint",
    "PlacementStrategy": "PlacementStrategy",
}


def generate(service_model=None) -> dict:
    """The table from botocore's ECS model (``service_model`` defaults to the installed one's)."""
    if service_model is None:
        import botocore.session
        service_model = botocore.session.get_session().get_service_model("ecs")
    shapes: dict[str, dict[str, str]] = {}

    def code(shape) -> str:
        kind = shape.type_name
        if kind == "structure":
            if shape.name not in shapes:
                shapes[shape.name] = {}                     # placed first: recursive shapes end here
                shapes[shape.name] = {name: code(member) for name, member in shape.members.items()}
            return shape.name
        if kind == "list":
            return f"[{code(shape.member)}]"
        if kind == "map":
            return f"{{{code(shape.value)}}}"
        return ""

    for root in ROOTS.values():
        code(service_model.shape_for(root))
    return {"botocore": BOTOCORE_VERSION, "roots": dict(ROOTS),
            "shapes": {name: shapes[name] for name in sorted(shapes)}}


def dump(table: dict) -> str:
    """The table as committed: one structure per line, so a model update reads as a small diff."""
    lines = [f'{{"botocore": {json.dumps(table["botocore"])},',
             f' "roots": {json.dumps(table["roots"])},', ' "shapes": {']
    names = list(table["shapes"])
    for i, name in enumerate(names):
        comma = "," if i + 1 < len(names) else ""
        lines.append(f"  {json.dumps(name)}: {json.dumps(table['shapes'][name])}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


@cache
def table() -> dict:
    """The committed table (read once)."""
    return json.loads(TABLE_PATH.read_text(encoding="utf-8"))


@cache
def _members(shape: str) -> tuple[dict[str, str], dict[str, str]]:
    """A structure's members, and its members by lower-cased name (for case mismatches)."""
    members = table()["shapes"][shape]
    return members, {name.lower(): name for name in members}


def members(root: str) -> dict[str, str]:
    """The top-level keys of ``root`` (a key of ``ROOTS``) and their codes."""
    return _members(table()["roots"][root])[0]


def _nearest(key: str, names) -> str:
    lowered = {name.lower(): name for name in names}
    best = difflib.get_close_matches(key.lower(), lowered, n=1, cutoff=0.0)
    return lowered[best[0]] if best else ""


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)


def checked(document, root: str, what: str, *, extra: tuple[str, ...] = ()) -> tuple[object, list[str]]:
    """``document`` with every key checked against the ECS model of ``root`` at every depth:
    ``(copy with case-mismatched keys renamed to the real ones, warnings)``. An unknown key,
    the same key twice (in two spellings) or an object where a list belongs (or the reverse) is
    an ``InputError`` that names the key, its path and the nearest real key. ``extra`` are
    top-level keys accepted besides the model's (the union of two shapes, for one)."""
    warnings: list[str] = []
    top = table()["roots"][root]
    if not extra:
        return _walk(document, top, "", what, warnings), warnings
    union = {key: code for name in (*extra, root) for key, code in members(name).items()}
    return _structure(document, union, {k.lower(): k for k in union}, top, "", what, warnings), warnings


def _walk(value, code: str, path: str, what: str, warnings: list[str]):
    if value is None or code == "":                 # scalars and nulls: read (and judged) by their users
        return value
    if code[0] == "[":
        if not isinstance(value, list):
            raise InputError(f"{what}: {path or 'the document'} must be a list, not {_kind(value)}")
        inner = code[1:-1]
        for i, item in enumerate(value):
            if item is None and inner:
                raise InputError(f"{what}: {path}[{i}] is null; ECS expects an object or a list there")
        return [_walk(item, inner, f"{path}[{i}]", what, warnings) for i, item in enumerate(value)]
    if code[0] == "{":
        if not isinstance(value, dict):
            raise InputError(f"{what}: {path or 'the document'} must be an object, not {_kind(value)}")
        inner = code[1:-1]
        return value if not inner else {k: _walk(v, inner, f"{path}.{k}", what, warnings) for k, v in value.items()}
    names, lowered = _members(code)
    return _structure(value, names, lowered, code, path, what, warnings)


def _structure(value, names: dict[str, str], lowered: dict[str, str], shape: str, path: str, what: str,
               warnings: list[str]) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{what}: {path or 'the document'} must be an object, not {_kind(value)}")
    out: dict = {}
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        real = key if key in names else lowered.get(key.lower()) if isinstance(key, str) else None
        if real is None:
            nearest = _nearest(str(key), names)
            close = difflib.SequenceMatcher(None, str(key).lower(), nearest.lower()).ratio() >= 0.6
            at = f" at {where}" if where != key else ""
            raise InputError(
                f"{what}: unknown key {key!r}{at}; "
                + (f"did you mean {nearest}?" if close else f"ECS's {shape} has no such key (the nearest is {nearest})"),
                hint=f"the keys of {shape}: {', '.join(sorted(names))}" if not close else None)
        if real in out:
            raise InputError(f"{what}: {where} repeats the key {real!r} (ECS keys are case-sensitive)")
        if real != key:
            at = f" at {where}" if where != key else ""
            warnings.append(f"{what}: key {key!r}{at} read as {real!r} "
                            "(ECS keys are case-sensitive; the ECS API would refuse this spelling)")
        out[real] = _walk(item, names[real], f"{path}.{real}" if path else real, what, warnings)
    return out


def main() -> None:
    """Regenerate the committed table from the installed botocore (which must be 1.44.8)."""
    import botocore
    if botocore.__version__ != BOTOCORE_VERSION:
        raise SystemExit(f"botocore {botocore.__version__} is installed; the table is of {BOTOCORE_VERSION}")
    TABLE_PATH.write_text(dump(generate()), encoding="utf-8")
    print(f"wrote {TABLE_PATH}")


if __name__ == "__main__":
    main()
