"""Fuzz targets: each takes bytes and returns normally or raises ``PlacementError`` on bad input;
anything else is a crash (``run.py`` drives them with atheris; ``test_corpus.py`` replays the
corpus in the normal test run).

- ``compile``: any text (``T`` + the text) or a generated expression through
  ``placement.compile`` (parse, check, simplify, plan), and the canonical form compiled again to
  the same canonical form;
- ``ecs_json``: any bytes as describe-container-instances JSON, then an evaluation;
- ``arrow``: random Arrow tables (dictionary, string, integer and null columns, hostile names
  and values) through ``Fleet.from_arrow`` and an evaluation;
- ``differential``: a random fleet and a random expression, compiled kernel against the reference
  evaluator: a different answer is a crash too.
"""
from __future__ import annotations

import json

import atheris
import numpy as np

import placement
from placement.errors import PlacementError
from placement.fleet import columns

columns.BUCKETS_FROM = 0        # agentVersion / registeredAt through their uint16 buckets at any size

SUBJECTS = ("attribute:a", "attribute:b", "attribute:ecs.instance-type", "attribute:ecs.capability.x",
            "runningTasksCount", "agentVersion", "registeredAt", "instanceId", "ec2InstanceId", "task:group",
            "attribute:ün", "agentConnected", "pendingTasksCount")
OPERATORS = ("==", "!=", ">", ">=", "<", "<=", "exists", "!exists", "in", "!in", "=~", "!~")
VALUES = ("x", "y", "t3.large", "t3.*", "m5.*", "0", "1", "7", "-1", "1048576", "2.0", "1.1048576",
          "1.2.3", "2026-01-01", "2026-01-01T10:00:00Z", "9999-12-31T23:59:59-14:00", "service:web",
          "'a b'", "\"x\"", "true", "false", "''", "(x|y)+", "[x, y]", "[0, 7, 1048576]", "ü", "\\d+", "null")
STRINGS = ("x", "y", "t3.large", "m5.xlarge", "", "ü", "a b", "\ud800", "\x00", "1", "1048576", "x" * 300)
ARROW_STRINGS = tuple(s for s in STRINGS if s != "\ud800")       # Arrow cannot hold a lone surrogate


def _text(data: atheris.FuzzedDataProvider, pool: tuple[str, ...]) -> str:
    return pool[data.ConsumeIntInRange(0, len(pool) - 1)]


def expression(data: atheris.FuzzedDataProvider, depth: int = 0) -> str:
    """A random expression over ``SUBJECTS`` (mostly valid, sometimes not)."""
    shape = data.ConsumeIntInRange(0, 9 if depth < 4 else 5)
    if shape <= 5:
        subject, operator = _text(data, SUBJECTS), _text(data, OPERATORS)
        if operator in ("exists", "!exists"):
            return f"{subject} {operator}"
        return f"{subject} {operator} {_text(data, VALUES)}"
    if shape == 6:
        return f"not({expression(data, depth + 1)})"
    if shape == 7:
        return f"({expression(data, depth + 1)})"
    joiner = " and " if shape == 8 else " or "
    return expression(data, depth + 1) + joiner + expression(data, depth + 1)


def fleet_document(data: atheris.FuzzedDataProvider) -> tuple[dict, dict]:
    """A random describe-container-instances document and its describe-tasks."""
    instances, tasks = [], []
    for k in range(data.ConsumeIntInRange(0, 24)):
        attributes = []
        for name in ("a", "b", "ecs.instance-type", "ecs.capability.x", "ün"):
            choice = data.ConsumeIntInRange(0, 3)
            if choice == 1:
                attributes.append({"name": name})
            elif choice >= 2:
                attributes.append({"name": name, "value": _text(data, STRINGS)})
        record = {"containerInstanceArn": f"arn:ci/{k}", "ec2InstanceId": f"i-{k:04x}",
                  "status": ("ACTIVE", "DRAINING", "")[data.ConsumeIntInRange(0, 2)],
                  "agentConnected": data.ConsumeBool(), "attributes": attributes,
                  "runningTasksCount": data.ConsumeIntInRange(0, 1 << 40),
                  "pendingTasksCount": data.ConsumeIntInRange(0, 10)}
        if data.ConsumeBool():
            record["versionInfo"] = {"agentVersion": ".".join(str(data.ConsumeIntInRange(0, 1 << 20))
                                                              for _ in range(data.ConsumeIntInRange(1, 4)))}
        if data.ConsumeBool():
            record["registeredAt"] = data.ConsumeIntInRange(0, 4_000_000_000) + data.ConsumeIntInRange(0, 999) / 1000
        instances.append(record)
        for _ in range(data.ConsumeIntInRange(0, 2)):
            tasks.append({"taskArn": f"task-{len(tasks)}", "containerInstanceArn": f"arn:ci/{k}",
                          "group": ("service:web", "family:x", "ü")[data.ConsumeIntInRange(0, 2)],
                          "desiredStatus": "RUNNING"})
    return {"containerInstances": instances}, {"tasks": tasks}


def _raw_text(raw: bytes) -> str:
    """Bytes as text, lone surrogates kept (``surrogatepass``) where they decode."""
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


def compile_target(raw: bytes) -> None:
    """``T`` + the expression's text (how the corpus writes one), else a generated expression."""
    text = _raw_text(raw[1:]) if raw[:1] == b"T" else expression(atheris.FuzzedDataProvider(raw))
    try:
        predicate = placement.compile(text)
    except PlacementError:
        return
    again = placement.compile(predicate.canonical)
    assert again.canonical == predicate.canonical, (text, predicate.canonical, again.canonical)


def ecs_json_target(raw: bytes) -> None:
    try:
        fleet = placement.Fleet.from_ecs(raw)
        placement.compile("attribute:ecs.instance-type =~ 't.*' or runningTasksCount > 2").evaluate(fleet)
    except PlacementError:
        return


def arrow_target(raw: bytes) -> None:
    import pyarrow as pa
    data = atheris.FuzzedDataProvider(raw)
    n = data.ConsumeIntInRange(0, 16)
    columns = {"containerInstanceArn": pa.array([f"ci-{k}" for k in range(n)])}
    for _ in range(data.ConsumeIntInRange(0, 4)):
        name = ("attribute:a", "attribute:b", "runningTasksCount", "agentVersion", "registeredAt", "status",
                "remainingResources.CPU", "task:group", "nonsense", "attribute:")[data.ConsumeIntInRange(0, 9)]
        kind = data.ConsumeIntInRange(0, 3)
        if kind == 0:
            values = pa.array([_text(data, ARROW_STRINGS) if data.ConsumeBool() else None for _ in range(n)])
        elif kind == 1:
            values = pa.array([data.ConsumeIntInRange(-(1 << 63), (1 << 63) - 1) for _ in range(n)], pa.int64())
        elif kind == 2:
            values = pa.array([_text(data, ARROW_STRINGS) for _ in range(n)]).dictionary_encode()
        else:
            values = pa.array([data.ConsumeFloat() for _ in range(n)])
        columns[name] = values
    try:
        fleet = placement.Fleet.from_arrow(pa.table(columns))
        placement.compile(expression(data)).evaluate(fleet)
    except PlacementError:
        return


def differential_target(raw: bytes) -> None:
    data = atheris.FuzzedDataProvider(raw)
    instances, tasks = fleet_document(data)
    text = expression(data)
    try:
        fleet = placement.Fleet.from_ecs(instances, tasks)
        predicate = placement.compile(text)
    except PlacementError:
        return
    fast = predicate.evaluate(fleet)
    slow = predicate.evaluate(fleet, backend="reference")
    assert fast.tolist() == slow.tolist(), (text, json.dumps(instances)[:2000], fast.tolist(), slow.tolist())
    bits = predicate.evaluate(fleet, out="bits")
    assert bits.tobytes() == np.packbits(slow, bitorder="little").tobytes(), (text, bits, slow.tolist())


TARGETS = {"compile": compile_target, "ecs_json": ecs_json_target, "arrow": arrow_target,
           "differential": differential_target}
