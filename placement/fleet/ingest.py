"""Fleet ingest: ECS JSON -> ``Columns``, at the speed of parsing.

Decoding is msgspec's, into typed structs that mirror botocore's ECS output shapes
(``ContainerInstance``, ``Resource``, ``Attribute``, ``VersionInfo``, ``Task``, ``Container``,
``NetworkBinding``), straight from bytes: a wrong type is caught by the decoder with its JSON
path and turned into an ``InputError`` that names the instance. Only the fields a fleet reads are
declared; other keys of these *output* shapes are skipped, not refused, since AWS adds output
fields over time (requests and task definitions, which people write, are checked strictly in
``placement.place.requests``).

Instances are decoded in batches and each batch is turned into column pieces at once (attribute
names and values factorised through dicts, rows by ``np.repeat``), so no batch of structs
outlives its turn: peak memory is the text plus the columns, whatever the fleet's size.

Accepted sources (SPEC 3): the parsed JSON (boto3's responses with ``datetime`` values
included), the JSON text as ``str`` or ``bytes``, a path, a binary file object; a document, a
list of instances, a list of pages, or concatenated documents (all joined, in order).

Hostile input is refused with an ``InputError`` that names the item and field, never let
through to a kernel: numbers beyond what a column holds (amounts and counts above 2^52, instants
outside years 1-9999, agent version components of 2^22 / 2^20 or more), and text that is not
Unicode. A lone surrogate (the legal JSON escape ``"\ud800"``, or such a ``str`` in parsed JSON)
is **refused**, not kept: no pattern (RE2 reads UTF-8), table, export or terminal could read it.
msgspec cannot decode that escape at all, so a document it refuses for one is read again by
Python's json only to say which instance and field hold it. Error messages show values through
``placement.errors.preview``, bounded in length and depth.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import numpy as np

from placement import values
from placement.errors import InputError, preview
from placement.fleet.columns import Columns, DictionaryColumn, GroupColumn, TaskRecords, code_dtype
from placement.fleet.shared import SharedColumn
from placement.fleet.strings import StringColumn
from placement.values import (EARLIEST_MICROS, INT_ABSENT, LATEST_MICROS, VALUELESS, is_unicode, pack_version,
                              version_fits)

NUMBERS = ("agent_version", "registered_at", "running_tasks", *Columns.RESOURCES)
MAX_AMOUNT = 1 << 52            # cpu units, MiB, GPUs or tasks of one instance: safe in int64 sums
_BATCH = 8192


# -- the shapes (botocore 1.44.8's ECS model, the fields a fleet reads) --------------------------

class _Shape(msgspec.Struct, gc=False):
    pass


class Attribute(_Shape):
    name: str = ""
    value: str | None = None


class Resource(_Shape):
    name: str = ""
    type: str | None = None
    doubleValue: float | None = None
    longValue: int | None = None
    integerValue: int | None = None
    stringSetValue: list[str] | None = None


class VersionInfo(_Shape):
    agentVersion: str | None = None


class ContainerInstance(_Shape):
    containerInstanceArn: str | None = None
    ec2InstanceId: str | None = None
    versionInfo: VersionInfo | None = None
    remainingResources: list[Resource] | None = None
    registeredResources: list[Resource] | None = None
    status: str | None = None
    agentConnected: bool | None = None
    runningTasksCount: int | None = None
    attributes: list[Attribute] | None = None
    registeredAt: Any = None                 # ISO text, epoch seconds, or boto3's datetime


class NetworkBinding(_Shape):
    hostPort: int | None = None
    protocol: str | None = None


class Container(_Shape):
    gpuIds: list[str] | None = None
    networkBindings: list[NetworkBinding] | None = None


class Task(_Shape):
    taskArn: str | None = None
    containerInstanceArn: str | None = None
    group: str | None = None
    desiredStatus: str | None = None
    cpu: str | int | None = None
    memory: str | int | None = None
    containers: list[Container] | None = None


class _Page(_Shape):
    """A response object: the list under its key is kept raw, decoded batch by batch."""
    containerInstances: list[msgspec.Raw] | None = None
    tasks: list[msgspec.Raw] | None = None
    containerInstanceArn: msgspec.Raw | None = None      # a lone instance object
    failures: list[msgspec.Raw] | None = None


_DECODERS = {ContainerInstance: msgspec.json.Decoder(ContainerInstance), Task: msgspec.json.Decoder(Task)}
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_PAGE = msgspec.json.Decoder(_Page)
_RAW = msgspec.json.Decoder(msgspec.Raw)


# -- sources --------------------------------------------------------------------------------------

def read_source(source, what: str) -> bytes:
    """The bytes of ``source``: ``"-"`` (standard input), a path, or a binary file object."""
    try:
        if source == "-":
            return sys.stdin.buffer.read()
        if hasattr(source, "read"):
            data = source.read()
            return data.encode() if isinstance(data, str) else bytes(data)
        if "\0" in str(source):
            raise InputError(f"cannot read {what} file {preview(str(source))}: a file name holds no NUL")
        return Path(source).read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {what} file {preview(str(source))}: {error.strerror}") from None


def read_json(source, what: str):
    """One JSON document from a path, ``"-"`` or a file, as plain Python; syntax errors with the
    line and column, the same wording as a fleet's."""
    text = read_source(source, what)
    label = "standard input" if source == "-" else repr(str(source))
    if not text.strip():
        raise InputError(f"the {what} file {label} is empty")
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as error:
        if _SURROGATE_ESCAPE.search(text) and _python_json(text) is not _NOT_JSON:
            raise InputError(f"the {what} file {label} holds a lone surrogate escape (like \\ud800), "
                             "which is not Unicode: no pattern or terminal can read it") from None
        raise _syntax_error(error, text, 0, what, f" {label}") from None
    except (msgspec.ValidationError, RecursionError):
        raise InputError(f"the {what} file {label} holds a number out of range or is nested too deeply") from None


def _as_document(source, what: str):
    """Text as bytes; a path or file read; parsed JSON as it is."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, str):
        if source.lstrip()[:1] not in ("{", "[") and source.strip():       # a path (blank: empty JSON)
            return read_source(source, what)
        try:
            return source.encode("utf-8")
        except UnicodeEncodeError:          # lone surrogates: read by Python's json, to be named by the checks
            parsed = _python_json(source)
            return source.encode("utf-8", "surrogatepass") if parsed is _NOT_JSON else parsed
    if isinstance(source, os.PathLike) or hasattr(source, "read"):
        return read_source(source, what)
    return source


def _documents(text: bytes, what: str) -> list[memoryview]:
    """The top-level JSON documents of ``text`` (one, or several concatenated), without copies."""
    out, start, n, view = [], 0, len(text), memoryview(text)
    while True:
        while start < n and text[start] in b" \t\r\n":
            start += 1
        if start == n:
            break
        try:
            _RAW.decode(view[start:])
            out.append(view[start:])
            break
        except RecursionError:
            raise InputError(f"the {what} JSON is nested too deeply to be ECS JSON") from None
        except msgspec.DecodeError as error:
            trailing = re.search(r"trailing characters \(byte (\d+)\)", str(error))
            if not trailing:
                raise _syntax_error(error, text, start, what) from None
            # msgspec counts the byte after the first trailing one; either way the document
            # ends before it, and what follows is read next
            end = start + int(trailing.group(1)) - 1
            while end > start and text[end - 1] in b" \t\r\n":
                end -= 1
            out.append(view[start:end])
            start = end
    if not out:
        raise InputError(f"the {what} JSON is empty")
    return out


def _syntax_error(error: msgspec.DecodeError, text: bytes, start: int, what: str, label: str = "") -> InputError:
    message = str(error)
    at = re.search(r"\(byte (\d+)\)", message)
    if not at:
        return InputError(f"the {what} file{label} is not JSON: {message}", hint=_TABLE_HINT if what == "fleet" else None)
    offset = start + int(at.group(1))
    line = text.count(b"\n", 0, offset) + 1
    column = offset - (text.rfind(b"\n", 0, offset) + 1) + 1
    problem = message.split(":", 1)[-1].split("(byte")[0].strip()
    hint = _TABLE_HINT if what == "fleet" and text[start:start + 1] not in (b"{", b"[") else None
    return InputError(f"the {what} file{label} is not JSON: {problem} at line {line}, column {column}", hint=hint)


_TABLE_HINT = "a table is read by its suffix: name it .csv, .parquet, .feather, .arrow or .ipc"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_NOT_JSON = object()


def _python_json(text: str | bytes):
    """One JSON document read by Python's json, which (unlike msgspec) takes lone surrogate
    escapes; ``_NOT_JSON`` when it is not one document of strict JSON (NaN is refused, as msgspec does)."""
    def refuse(constant):
        raise ValueError(constant)
    try:
        return json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):        # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return _NOT_JSON


@dataclass(frozen=True)
class _Kind:
    key: str          # the response's list key
    command: str      # the aws ecs command that prints it
    label: str        # how one item is named in errors
    shape: type


_INSTANCES = _Kind("containerInstances", "describe-container-instances", "containerInstances", ContainerInstance)
_TASKS = _Kind("tasks", "describe-tasks", "tasks", Task)


def _items(source, kind: _Kind, failures: list | None = None) -> list:
    """Every item of ``source``, raw (``msgspec.Raw``) or parsed (a dict), pages joined; the
    responses' ``failures`` entries go to ``failures``."""
    failures = [] if failures is None else failures
    what = "tasks" if kind is _TASKS else "fleet"
    document = _as_document(source, what)
    if isinstance(document, bytes):
        try:
            parts = _documents(document, what)
        except InputError:
            parsed = _python_json(document) if _SURROGATE_ESCAPE.search(document) else _NOT_JSON
            if parsed is _NOT_JSON:
                raise
            return _parsed_items(parsed, kind, failures)
        return [item for part in parts for item in _raw_items(part, kind, failures)]
    return _parsed_items(document, kind, failures)


def _parsed_items(document, kind: _Kind, failures: list) -> list:
    if isinstance(document, dict):                  # a copy: batches are let go of as they are read
        return list(_page_items(document, kind, failures))
    if isinstance(document, (list, tuple)):
        if document and isinstance(document[0], dict) and kind.key in document[0]:
            return [item for page in document for item in _page_items(page, kind, failures)]
        return list(document)
    raise InputError(f"expected the JSON of 'aws ecs {kind.command}': an object with {kind.key!r} "
                     f"or a list; got {type(document).__name__}")


def _page_items(page, kind: _Kind, failures: list) -> list:
    if not isinstance(page, dict):
        raise InputError(f"a page of 'aws ecs {kind.command}' must be an object, got {type(page).__name__}")
    if kind.key not in page:
        if kind is _INSTANCES and "containerInstanceArn" in page:
            return [page]
        raise InputError(f"expected the JSON of 'aws ecs {kind.command}': an object with {kind.key!r} "
                         f"or a list; got an object with keys {preview(list(page))}")
    items = page[kind.key]
    if not isinstance(items, list):
        raise InputError(f"{kind.key} must be a list, got {type(items).__name__}")
    if isinstance(page.get("failures"), list):
        failures.extend(page["failures"])
    return items


def _raw_items(document, kind: _Kind, failures: list) -> list:
    """The items of one raw document: a page, a list of pages or of items, or a lone instance."""
    first = bytes(memoryview(document)[:1])
    if first == b"[":
        items = _RAW_LIST.decode(document)              # a document that decodes as Raw is a list here
        if items and bytes(memoryview(items[0])[:1]) == b"{":
            page = _page(items[0])
            if page is not None and getattr(page, kind.key) is not None:
                return [item for page in items for item in _raw_items(page, kind, failures)]
        return items
    page = _page(document) if first == b"{" else None
    if page is not None:
        if getattr(page, kind.key) is not None:
            failures.extend(map(_generic, page.failures or ()))
            return getattr(page, kind.key)
        if kind is _INSTANCES and page.containerInstanceArn is not None:
            return [document]
    parsed = _generic(document)                          # not a page: say what was expected
    return _page_items(parsed if isinstance(parsed, dict) else {kind.key: parsed}, kind, failures)


def _failed(failures: list, kind: _Kind) -> list[str]:
    """A warning for a response's ``failures`` (ARNs AWS could not describe: not in the input)."""
    if not failures:
        return []
    first = failures[0] if isinstance(failures[0], dict) else {}
    example = " ".join(_shown(first[key]) for key in ("reason", "arn") if first.get(key))
    return [f"the {kind.command} response lists {len(failures)} failure{'s' * (len(failures) != 1)}"
            + (f" (first: {example})" if example else "") + f"; those {kind.key} are not read"]


def _page(document) -> _Page | None:
    try:
        return _PAGE.decode(document)
    except msgspec.ValidationError:
        return None


def _generic(document):
    """``document`` as plain Python, or None when even that fails (the error is said elsewhere)."""
    try:
        return msgspec.json.decode(document)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None


def _decode(items: list, kind: _Kind, offset: int) -> list:
    """Typed structs for ``items`` (raw or parsed); an ``InputError`` naming the item and field."""
    decoder = _DECODERS[kind.shape]
    out = []
    for k, item in enumerate(items):
        try:
            out.append(decoder.decode(item) if isinstance(item, msgspec.Raw) else msgspec.convert(item, kind.shape))
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise _field_error(error, item, kind, offset + k) from None
        except RecursionError:
            raise InputError(f"{kind.label}[{offset + k}] is nested too deeply to be ECS JSON") from None
        except UnicodeEncodeError:                  # a key of parsed JSON with a lone surrogate
            raise _Label(kind, offset + k, item).error("", _NOT_UNICODE.format(what="a key")) from None
    return out


_PATH = re.compile(r"^(.*?)(?: - at `(key` in `)?\$(.*)`)?$", re.S)
_TYPE_NAMES = {"int": "int", "str": "a string", "bool": "bool", "float": "a number", "array": "a list",
               "object": "an object", "null": "null", "int | null": "int", "str | null": "a string or null",
               "bool | null": "bool", "array | null": "a list", "object | null": "an object",
               "float | null": "a number", "int | str | null": "a string", "str | int | null": "a string"}


def _field_error(error: Exception, item, kind: _Kind, index: int) -> InputError:
    message, key, path = _PATH.match(str(error)).groups()
    path = (path or "").lstrip(".")
    if isinstance(item, msgspec.Raw):
        is_object = bytes(memoryview(item)[:1]) == b"{"
        item = _generic(item) if is_object else None
        item = item if isinstance(item, dict) else {} if is_object else item
    if not isinstance(item, dict):
        return InputError(f"{kind.label}[{index}] must be an object, got "
                          f"{type(item).__name__ if item is not None else 'something else'}")
    missing = re.match(r"Object missing required field `(.+)`", message)
    expected = re.match(r"Expected `(.+?)`, got `(.+?)`", message)
    if key:
        problem = "has a key that is not a string"
    elif missing:
        path, problem = f"{path}.{missing.group(1)}".lstrip("."), "is missing"
    elif expected:
        want = _TYPE_NAMES.get(expected.group(1), expected.group(1).replace("`", ""))
        problem = f"must be {want}, got {expected.group(2)}"
    elif "out of range" in message:
        problem = "is out of range"
    else:
        problem = message[:1].lower() + message[1:]
    return _Label(kind, index, item).error(path, problem)


class _Label:
    """Names the item (index, and its ARN when it has one) in every error about it."""

    __slots__ = ("text",)

    def __init__(self, kind: _Kind, index: int, item=None):
        arn = getattr(item, "containerInstanceArn", None) if not isinstance(item, dict) else \
            item.get("containerInstanceArn")
        arn = _shown(arn) if kind is _INSTANCES and isinstance(arn, str) and arn else None
        self.text = f"{kind.label}[{index}]" + (f" ({arn})" if arn else "")

    def error(self, field: str, problem: str) -> InputError:
        return InputError(f"{self.text}: {field!r} {problem}" if field else f"{self.text}: {problem}")


# -- instances -> column pieces -------------------------------------------------------------------

@dataclass(slots=True)
class InstanceRecord:
    """One container instance, checked: what a fleet row holds (for ``Fleet.register``)."""

    arn: str
    instance_id: str | None
    status: str | None
    connected: bool | None
    numbers: dict[str, int]                 # NUMBERS
    attributes: list[tuple[str, object]]    # (name, value or VALUELESS)
    ports: frozenset[int]


class _Seen:
    """What earlier instances already had: agent versions packed, PORTS sets checked."""

    __slots__ = ("versions", "port_sets")

    def __init__(self):
        self.versions: dict = {None: INT_ABSENT}
        self.port_sets: dict = {None: frozenset()}


@dataclass(slots=True)
class _Scalars:
    """One instance's single-valued fields, checked (attributes are read apart)."""

    arn: str
    numbers: list[int]                # in NUMBERS' order
    ports: frozenset[int]

    @staticmethod
    def read(ci: ContainerInstance, index: int, seen: _Seen) -> "_Scalars":
        arn = ci.containerInstanceArn
        if not arn:
            raise _Label(_INSTANCES, index).error("containerInstanceArn", "is missing")
        running = ci.runningTasksCount or 0
        if not 0 <= running <= MAX_AMOUNT:
            raise _Label(_INSTANCES, index, ci).error("runningTasksCount",
                                                      f"must be a count from 0 to 2^52, got {preview(running)}")
        text = ci.versionInfo.agentVersion if ci.versionInfo is not None else None
        version = seen.versions.get(text)
        if version is None:      # one we cannot read compares as absent, like a non-numeric attribute
            parsed = values.parse_version(text)
            if parsed is not None and not version_fits(parsed):
                raise _Label(_INSTANCES, index, ci).error(
                    "versionInfo.agentVersion", f"{preview(text)} has a component too large to compare "
                                                "(at most 4194303.1048575.1048575)")
            version = seen.versions[text] = pack_version(parsed)
        amounts, ports = _resources(ci, index)
        found = seen.port_sets.get(ports)
        if found is None:
            found = seen.port_sets[ports] = _port_set(ports, ci, index)
        return _Scalars(arn, [version, _registered_at(ci, index), running, *amounts], found)


class _Pieces:
    """Instances, checked and reduced to column pieces, batch after batch."""

    def __init__(self):
        self.arns: list[str] = []
        self.instance_id: list = []
        self.status: list = []
        self.connected: list = []
        self.numbers: dict[str, list[np.ndarray]] = {name: [] for name in NUMBERS}
        self.ports: list[frozenset[int]] = []
        self.names: dict[str, int] = {}          # attribute name -> id
        self.values: dict = {}                   # attribute value (None: value-less) -> id
        self.attribute_rows: list[np.ndarray] = []
        self.attribute_names: list[np.ndarray] = []
        self.attribute_values: list[np.ndarray] = []
        self.seen = _Seen()

    def add(self, batch: list[ContainerInstance], first: int) -> None:
        n = len(batch)
        rows = [_Scalars.read(ci, first + k, self.seen) for k, ci in enumerate(batch)]
        if not all(map(is_unicode, chain((r.arn for r in rows), (ci.ec2InstanceId for ci in batch),
                                       (ci.status for ci in batch)))):
            _unicode_error(batch, first)
        self.arns.extend(r.arn for r in rows)
        self.instance_id.extend(ci.ec2InstanceId for ci in batch)
        self.status.extend(ci.status for ci in batch)
        self.connected.extend(ci.agentConnected for ci in batch)
        self.ports.extend(r.ports for r in rows)
        for j, name in enumerate(NUMBERS):
            self.numbers[name].append(np.fromiter((r.numbers[j] for r in rows), np.int64, n))
        self._attributes(batch, first)

    def _attributes(self, batch: list[ContainerInstance], first: int) -> None:
        lengths = [len(ci.attributes) if ci.attributes else 0 for ci in batch]
        items = list(chain.from_iterable(ci.attributes for ci in batch if ci.attributes))
        if not items:
            return
        names, found = self.names, list(map(_NAME, items))
        known, found_values = self.values, list(map(_VALUE, items))
        new_names, new_values = set(found).difference(names), set(found_values).difference(known)
        if not all(map(is_unicode, chain(new_names, new_values))):
            _unicode_error(batch, first)
        for name in new_names:
            names[name] = len(names)
        for value in new_values:
            known[value] = len(known)
        rows = np.repeat(np.arange(first, first + len(batch), dtype=np.int32), lengths)
        name_ids = np.fromiter(map(names.__getitem__, found), np.int32, len(items))
        if "" in names and (name_ids == names[""]).any():
            _attribute_error(batch, first, lambda a, seen: not a.name, "must be an object with a 'name'")
        key = (rows - first).astype(np.int64) * len(names) + name_ids   # one per (instance, name) unless repeated
        space = len(batch) * len(names)
        repeated = np.bincount(key, minlength=space).max() > 1 if space <= 1 << 24 else \
            bool((np.diff(np.sort(key)) == 0).any())
        if repeated:
            _attribute_error(batch, first, lambda a, seen: a.name in seen or seen.add(a.name),
                             "repeats the attribute {name!r}")
        self.attribute_rows.append(rows)
        self.attribute_names.append(name_ids)
        self.attribute_values.append(np.fromiter(map(known.__getitem__, found_values), np.int32, len(items)))

    def columns(self, tasks: TaskRecords) -> Columns:
        n = len(self.arns)
        _unique_arns(self.arns)
        numbers = {name: np.concatenate(parts) if parts else np.zeros(0, np.int64)
                   for name, parts in self.numbers.items()}
        group_names = tuple(sorted(set(tasks.groups)))
        lookup = {g: i for i, g in enumerate(group_names)}
        group_codes = np.fromiter(map(lookup.__getitem__, tasks.groups), np.int64, len(tasks.groups))
        return Columns(
            arns=StringColumn.from_strings(self.arns),
            instance_id=DictionaryColumn.from_values(self.instance_id),
            status=DictionaryColumn.from_values(self.status),
            agent_connected=DictionaryColumn.from_values(self.connected),
            agent_version=numbers["agent_version"], registered_at=numbers["registered_at"],
            running_tasks=numbers["running_tasks"],
            attributes=MappingProxyType(self._attribute_columns(n)),
            groups=GroupColumn.from_tasks(n, tasks.rows, group_codes, group_names),
            resources=MappingProxyType({name: numbers[name] for name in Columns.RESOURCES}),
            ports=SharedColumn.from_values(self.ports), tasks=tasks)                 # Fleet validates

    def _attribute_columns(self, n: int) -> dict[str, DictionaryColumn]:
        if not self.attribute_rows:
            return {}
        rows, name_ids, value_ids = (np.concatenate(parts) for parts in
                                     (self.attribute_rows, self.attribute_names, self.attribute_values))
        value_of = np.empty(len(self.values), dtype=object)
        value_of[list(self.values.values())] = list(self.values)
        order = np.argsort(name_ids, kind="stable")
        bounds = np.searchsorted(name_ids[order], np.arange(len(self.names) + 1))
        out = {}
        for name, k in sorted(self.names.items()):
            chosen = order[bounds[k]:bounds[k + 1]]
            present, inverse = np.unique(value_ids[chosen], return_inverse=True)
            texts = value_of[present].tolist()
            dictionary = sorted(t for t in texts if t is not None)
            rank = {text: i for i, text in enumerate(dictionary)}
            rank[None] = len(dictionary) + 1                     # value-less
            code_of = np.fromiter(map(rank.__getitem__, texts), np.int64, len(texts))
            codes = np.full(n, len(dictionary), dtype=code_dtype(len(dictionary) + 2))
            codes[rows[chosen]] = code_of[inverse]
            out[name] = DictionaryColumn(codes, tuple(dictionary))
        return out


_NAME, _VALUE = attrgetter("name"), attrgetter("value")


def _attribute_error(batch, first: int, wrong, problem: str) -> None:
    """Raise for the first attribute where ``wrong(attribute, names seen on its instance)``."""
    for k, ci in enumerate(batch):
        seen: set[str] = set()
        for j, item in enumerate(ci.attributes or ()):
            if wrong(item, seen):
                raise _Label(_INSTANCES, first + k, ci).error(f"attributes[{j}]", problem.format(name=item.name))


def _shown(value) -> str:
    """A text from the input as it is when short and printable (an ARN, a reason), else its preview."""
    return value if isinstance(value, str) and len(value) <= 160 and value.isprintable() else preview(value)


_NOT_UNICODE = "{what} is not valid Unicode (it holds a lone surrogate): no pattern, table or terminal can read it"


def _unicode_error(batch, first: int) -> None:
    """Raise for the first text of these instances that is not Unicode, naming its instance and field."""
    for k, ci in enumerate(batch):
        label = _Label(_INSTANCES, first + k, ci)
        for field in ("containerInstanceArn", "ec2InstanceId", "status"):
            if not is_unicode(getattr(ci, field)):
                raise label.error(field, _NOT_UNICODE.format(what=preview(getattr(ci, field))))
        for j, item in enumerate(ci.attributes or ()):
            for field in ("name", "value"):
                if not is_unicode(getattr(item, field)):
                    raise label.error(f"attributes[{j}].{field}",
                                      _NOT_UNICODE.format(what=preview(getattr(item, field))))


def _unique_arns(arns: list[str]) -> None:
    if len(set(arns)) != len(arns):
        seen: set[str] = set()
        k = next(i for i, arn in enumerate(arns) if arn in seen or seen.add(arn))
        raise InputError(f"containerInstances[{k}]: duplicate containerInstanceArn {preview(arns[k])}")


def _registered_at(ci: ContainerInstance, index: int) -> int:
    """ISO-8601 as the AWS CLI prints it, epoch seconds as the raw API returns, or a datetime."""
    raw = ci.registeredAt
    if raw is None:
        return INT_ABSENT
    micros = None
    if isinstance(raw, dt.datetime):
        micros = values.datetime_to_micros(raw)
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if (type(raw) is int or math.isfinite(raw)) and EARLIEST_MICROS <= raw * 1_000_000 <= LATEST_MICROS:
            micros = round(raw * 1_000_000)
    elif isinstance(raw, str):
        try:                                     # the AWS CLI's form, read in C
            micros = values.datetime_to_micros(dt.datetime.fromisoformat(raw))
        except ValueError:
            micros = values.parse_timestamp(raw)
    if micros is None:
        raise _Label(_INSTANCES, index, ci).error(
            "registeredAt", f"must be an ISO-8601 time or epoch seconds in years 1 to 9999, got {preview(raw)}")
    return micros


_RESOURCE_SLOT = {"CPU": 0, "MEMORY": 1, "GPU": 2}


def _resources(ci: ContainerInstance, index: int) -> tuple[list[int], tuple | None]:
    """[remaining cpu, memory, gpu, registered cpu, memory, gpu], and the remaining PORTS' texts."""
    out = [0] * 6
    ports = None
    for base, field, resources in ((0, "remainingResources", ci.remainingResources),
                                   (3, "registeredResources", ci.registeredResources)):
        for k, item in enumerate(resources or ()):
            slot = _RESOURCE_SLOT.get(item.name)
            if slot is None:
                if base == 0 and item.name == "PORTS":
                    ports = tuple(item.stringSetValue or ())
                continue
            if slot == 2 and (item.stringSetValue or item.type == "STRINGSET"):
                amount = len(item.stringSetValue or ())       # GPU ids: the count is how many
            else:
                amount = item.integerValue
                if amount is None:
                    amount = item.longValue if item.longValue is not None else item.doubleValue or 0
            if not 0 <= amount <= MAX_AMOUNT:                 # NaN fails both comparisons
                raise _Label(_INSTANCES, index, ci).error(
                    f"{field}[{k}]", f"{item.name} must be a non-negative number up to 2^52, got {preview(amount)}")
            out[base + slot] = amount if type(amount) is int else int(amount)
    return out, ports


def _port_set(ports: tuple, ci: ContainerInstance, index: int) -> frozenset[int]:
    """The remaining PORTS as numbers, each checked."""
    numbers = list(map(values.parse_port, ports))
    if None in numbers:
        k = next(k for k, item in enumerate(ci.remainingResources) if item.name == "PORTS")
        bad = ports[numbers.index(None)]
        raise _Label(_INSTANCES, index, ci).error(f"remainingResources[{k}]",
                                                  f"PORTS holds {preview(bad)}, not a port number")
    return frozenset(numbers)


def _instances(source, failures: list | None = None) -> _Pieces:
    items = _items(source, _INSTANCES, failures)
    pieces = _Pieces()
    for first in range(0, len(items), _BATCH):
        pieces.add(_decode(items[first:first + _BATCH], _INSTANCES, first), first)
        items[first:first + _BATCH] = [None] * len(items[first:first + _BATCH])   # the raw text's turn is over
    return pieces


def columns_from_ecs(instances, tasks=None) -> tuple[Columns, list[str]]:
    """The columns, and warnings about what was left out (failures, tasks that count nowhere)."""
    failures: list = []
    pieces = _instances(instances, failures)
    warnings = _failed(failures, _INSTANCES)
    running = _tasks(tasks, pieces.arns, warnings=warnings)
    return pieces.columns(running), warnings


def instance_records(instances) -> list[InstanceRecord]:
    """The instances of a describe-container-instances document, list or lone instance, checked
    one by one (a register's few instances: no batch set-up)."""
    items, seen, out = _items(instances, _INSTANCES), _Seen(), []
    for k, ci in enumerate(_decode(items, _INSTANCES, 0)):
        scalars = _Scalars.read(ci, k, seen)
        pairs = [(a.name, VALUELESS if a.value is None else a.value) for a in ci.attributes or ()]
        if len({name for name, _ in pairs}) != len(pairs) or any(not name for name, _ in pairs):
            _attribute_error([ci], k, lambda a, names: not a.name, "must be an object with a 'name'")
            _attribute_error([ci], k, lambda a, names: a.name in names or names.add(a.name),
                              "repeats the attribute {name!r}")
        if not all(map(is_unicode, (scalars.arn, ci.ec2InstanceId, ci.status, *(a.name for a in ci.attributes or ()),
                                  *(a.value for a in ci.attributes or ())))):
            _unicode_error([ci], k)
        out.append(InstanceRecord(scalars.arn, ci.ec2InstanceId, ci.status, ci.agentConnected,
                                  dict(zip(NUMBERS, scalars.numbers)), pairs, scalars.ports))
    _unique_arns([r.arn for r in out])
    return out


# -- tasks ------------------------------------------------------------------------------------------

_NO_TASKS = TaskRecords((), np.zeros(0, dtype=np.int64), (), *(np.zeros(0, dtype=np.int64),) * 3, ())


def tasks_on(records: list[InstanceRecord], tasks, first_row: int = 0) -> TaskRecords:
    """The RUNNING tasks of a describe-tasks document on these instances (rows from ``first_row``)."""
    return _tasks(tasks, [record.arn for record in records], first_row)


def _tasks(tasks, arns: list[str], first_row: int = 0, warnings: list[str] | None = None) -> TaskRecords:
    """The RUNNING tasks on instances of the fleet, in input order (SPEC 2: STOPPED tasks do not
    count; Fargate tasks have no container instance), with what each took: its ``cpu`` and
    ``memory`` strings (absent = 0), its containers' GPU ids and TCP host ports bound."""
    if tasks is None:
        return _NO_TASKS
    rows = {arn: first_row + k for k, arn in enumerate(arns)}
    failures: list = []
    items = _items(tasks, _TASKS, failures)
    ids, on, groups, cpu, memory, gpu, ports = [], [], [], [], [], [], []
    elsewhere = no_group = 0
    for first in range(0, len(items), _BATCH):
        for k, task in enumerate(_decode(items[first:first + _BATCH], _TASKS, first), first):
            if task.desiredStatus != "RUNNING" or task.containerInstanceArn is None:   # stopping; Fargate
                continue
            row = rows.get(task.containerInstanceArn)
            elsewhere += row is None
            no_group += row is not None and not task.group
            if row is None or not task.group:
                continue
            if not (is_unicode(task.group) and is_unicode(task.taskArn)):
                name, text = ("task group", task.group) if not is_unicode(task.group) else ("taskArn", task.taskArn)
                raise _Label(_TASKS, k).error("", _NOT_UNICODE.format(what=f"{name} {preview(text)}"))
            ids.append(task.taskArn)
            on.append(row)
            groups.append(task.group)
            cpu.append(_task_amount(task.cpu, "cpu", k))
            memory.append(_task_amount(task.memory, "memory", k))
            held: set[int] = set()
            gpus = 0
            for container in task.containers or ():
                gpus += len(container.gpuIds or ())
                for binding in container.networkBindings or ():
                    port = binding.hostPort
                    if port is not None and 0 < port < 65536 and (binding.protocol or "tcp") == "tcp":
                        held.add(port)
            gpu.append(gpus)
            ports.append(frozenset(held))
    if warnings is not None:
        warnings.extend(_failed(failures, _TASKS))
        if elsewhere:
            warnings.append(f"{elsewhere} RUNNING task{'s' * (elsewhere != 1)} of the tasks file run{'s' * (elsewhere == 1)} "
                            "on container instances not in the fleet; they count nowhere")
        if no_group:
            warnings.append(f"{no_group} RUNNING task{'s' * (no_group != 1)} on the fleet ha{'ve' if no_group != 1 else 's'} "
                            "no group; task:group cannot see them")
    seen: set[str] = set()
    for task_id in ids:
        if task_id is not None and (task_id in seen or seen.add(task_id)):
            raise InputError(f"tasks: taskArn {preview(task_id)} appears twice")
    if None in ids:                                # made up where the input had none, stable per position
        ids = [f"task-{k}" if task_id is None else task_id for k, task_id in enumerate(ids)]
    integers = lambda values: np.array(values, dtype=np.int64)  # noqa: E731
    return TaskRecords(StringColumn.from_strings(ids), integers(on), SharedColumn.from_values(groups), integers(cpu),
                       integers(memory), integers(gpu), SharedColumn.from_values(ports))


def _task_amount(value, field: str, k: int) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and 0 <= value <= MAX_AMOUNT:
        return value
    if isinstance(value, str) and len(value) < 40 and value.strip().isascii() and value.strip().isdigit() \
            and int(value) <= MAX_AMOUNT:
        return int(value)
    raise InputError(f"tasks[{k}]: {field!r} must be a whole number of units as a string, got {preview(value)}")
