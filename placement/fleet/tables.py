"""Fleet ingest from Arrow tables (and pandas / polars through Arrow), table files, and export back.

One column per subject, named as in the language: ``containerInstanceArn`` (required, the id),
``ec2InstanceId``, ``status``, ``agentConnected`` (bool), ``runningTasksCount`` (integer),
``registeredAt`` (timestamp, or ISO strings), ``agentVersion`` (string), ``attribute:NAME``
(string or dictionary<string>, null = absent; a **bool** column holds a value-less attribute:
true = present), ``task:group`` (list<string>, one entry per RUNNING task), and optionally
``remainingResources.CPU|MEMORY|GPU``, ``registeredResources.CPU|MEMORY|GPU`` (integers) and
``remainingResources.PORTS`` (list<string>: the TCP host ports in use). A dictionary column whose
dictionary is sorted, without nulls and with an index type of the width we would choose, is
used without copying.

**Files** (``read_table_file``, ``Fleet.read``, ``--fleet``): ``.csv``, ``.parquet``, and Arrow IPC
as ``.feather`` / ``.arrow`` / ``.ipc`` (the file format or the stream format), in the layout
above. A CSV file holds only text, so it is read this way (``write_table_file`` writes it so):

- every cell is read as text (``007`` stays ``007``); an empty cell is absent;
- a value-less attribute is the cell ``(value-less)``, a token no ECS attribute value can be
  (they cannot hold parentheses); a column cannot mix it with values;
- ``agentConnected`` is ``true`` / ``false``; ``runningTasksCount`` and the resource columns are
  whole numbers; ``registeredAt`` is ISO-8601;
- ``task:group`` and ``remainingResources.PORTS`` list their entries separated by spaces.

A file's fleet states what it assumed (``Fleet.warnings``, one per missing column): no
``status`` column, every instance ACTIVE; no ``agentConnected``, every agent connected (the
placer places only on those); a missing ``remainingResources.CPU`` / ``MEMORY`` equals its
``registeredResources`` column and the other way round, or is 0 when both are missing. Missing
GPU columns mean no GPUs, as a missing GPU resource does in ECS JSON, and are not warned about.
Table files need pyarrow (``pip install 'placement[arrow]'``); there is no fallback for CSV,
because the reader's checks are Arrow's.

Values are held to what the ECS JSON reader (``placement.fleet.ingest``) accepts, each refusal an
``InputError`` naming the column and row: counts and resources are whole numbers from 0 to 2^52,
instants lie in years 1 to 9999, agent versions fit the packing, ports are 1 to 65535, and
dictionary indices lie inside their dictionary.
"""
from __future__ import annotations

import sys
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from placement import values
from placement.errors import InputError, preview
from placement.fleet.columns import Columns, DictionaryColumn, GroupColumn, code_dtype
from placement.fleet.shared import SharedColumn
from placement.fleet.strings import StringColumn
from placement.fleet.ingest import MAX_AMOUNT
from placement.values import EARLIEST_MICROS, INT_ABSENT, LATEST_MICROS, pack_version, version_fits

if TYPE_CHECKING:  # pragma: no cover
    from placement.fleet.model import Fleet

_RESOURCE_COLUMNS = {f"{side}Resources.{name}": f"{side}_{name.lower()}"
                     for side in ("remaining", "registered") for name in ("CPU", "MEMORY", "GPU")}
_KNOWN = {"containerInstanceArn", "ec2InstanceId", "status", "agentConnected", "runningTasksCount",
          "registeredAt", "agentVersion", "task:group", "remainingResources.PORTS", *_RESOURCE_COLUMNS}


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:                                   # pragma: no cover - optional extra
        raise InputError("Arrow, pandas and polars input and table files need pyarrow: "
                         "pip install 'placement[arrow]'") from None
    return pa, pc


def arrow_from_pandas(frame):
    pa, _ = _pyarrow()
    pandas = sys.modules.get("pandas")
    if pandas is None or not isinstance(frame, pandas.DataFrame):
        raise InputError(f"expected a pandas.DataFrame, got {type(frame).__name__}")
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, UnicodeEncodeError, OverflowError, TypeError, ValueError) as error:
        for name in frame.columns:                  # say which column Arrow could not take
            try:
                pa.Table.from_pandas(frame[[name]], preserve_index=False)
            except (pa.ArrowException, UnicodeEncodeError, OverflowError, TypeError, ValueError):
                raise InputError(f"column {preview(name)} cannot be read as an Arrow column: "
                                 f"{preview(str(error))}") from None
        raise InputError(f"the frame cannot be read as an Arrow table: {preview(str(error))}") from None


def columns_from_arrow(table) -> Columns:
    pa, _ = _pyarrow()
    if not isinstance(table, pa.Table):
        raise InputError(f"expected a pyarrow.Table, got {type(table).__name__}")
    try:
        return _columns(table)
    except pa.ArrowException as error:          # a cast or an encoding Arrow refuses, said as bad input
        raise InputError(f"not a fleet table: {preview(str(error))}") from None


def _columns(table) -> Columns:
    pa, pc = _pyarrow()
    names = table.column_names
    unknown = [n for n in names if n not in _KNOWN and not n.startswith("attribute:")]
    if unknown:
        raise InputError(f"unknown fleet column(s) {unknown}; columns are named like the subjects "
                         f"(containerInstanceArn, attribute:NAME, task:group, runningTasksCount, ...)")
    if "containerInstanceArn" not in names:
        raise InputError("a fleet table needs a containerInstanceArn column")
    n = table.num_rows

    def column(name):
        if name not in names:
            return None
        chunks = table.column(name)
        return chunks.chunk(0) if chunks.num_chunks == 1 else chunks.combine_chunks()

    arns = column("containerInstanceArn")
    if not pa.types.is_string(arns.type) and not pa.types.is_large_string(arns.type) or arns.null_count:
        raise InputError("containerInstanceArn must be a string column without nulls")
    strings = {name: _dictionary(column(name), name, pa, pc) if name in names else DictionaryColumn.absent(n)
               for name in ("ec2InstanceId", "status")}
    connected = column("agentConnected")
    if connected is not None and not pa.types.is_boolean(connected.type):
        raise InputError("agentConnected must be a bool column")
    return Columns(
        arns=StringColumn.from_strings(arns.to_pylist()),
        instance_id=strings["ec2InstanceId"], status=strings["status"],
        agent_connected=(DictionaryColumn.from_values(connected.to_pylist()) if connected is not None
                         else DictionaryColumn.absent(n)),
        agent_version=_versions(column("agentVersion"), n, pa),
        registered_at=_instants(column("registeredAt"), n, pa, pc),
        running_tasks=_integers(column("runningTasksCount"), "runningTasksCount", n, pa, pc),
        attributes=MappingProxyType({name[len("attribute:"):]: _attribute(column(name), name, pa, pc)
                                     for name in sorted(names) if name.startswith("attribute:")}),
        groups=_groups(column("task:group"), n, pa),
        resources=MappingProxyType({key: _integers(column(name), name, n, pa, pc)
                                    for name, key in _RESOURCE_COLUMNS.items()}),
        ports=_ports(column("remainingResources.PORTS"), n, pa),
    ).validate()


def _dictionary(array, name: str, pa, pc) -> DictionaryColumn:
    """A string or dictionary<string> column as codes into a sorted dictionary (nulls absent)."""
    if not pa.types.is_dictionary(array.type):
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            raise InputError(f"column {name!r} must hold strings, not {array.type}")
        array = pc.dictionary_encode(array)
    if not (pa.types.is_string(array.type.value_type) or pa.types.is_large_string(array.type.value_type)):
        raise InputError(f"column {name!r} must hold strings, not {array.type.value_type}")
    dictionary = array.dictionary.to_pylist()
    if None in dictionary:
        raise InputError(f"column {name!r} has a null in its dictionary")
    ordered = tuple(sorted(set(dictionary)))
    dtype = code_dtype(len(ordered) + 2)
    indices = array.indices
    if (not array.null_count and list(ordered) == dictionary
            and np.dtype(indices.type.to_pandas_dtype()).itemsize == dtype.itemsize):
        codes = np.frombuffer(indices.buffers()[1], dtype=dtype, count=len(indices), offset=indices.offset * dtype.itemsize)
        return DictionaryColumn(codes, ordered)                     # zero-copy: same bytes as Arrow's
    position = {v: i for i, v in enumerate(ordered)}
    mapping = np.array([position[v] for v in dictionary] + [len(ordered)], dtype=np.int64)
    raw = indices.fill_null(len(dictionary)).to_numpy(zero_copy_only=False).astype(np.int64)
    outside = np.flatnonzero((raw < 0) | (raw > len(dictionary)))       # an array built with safe=False
    if len(outside):
        raise InputError(f"column {name!r} row {outside[0]}: index {raw[outside[0]]} is outside its dictionary "
                         f"of {len(dictionary)} values")
    return DictionaryColumn(np.ascontiguousarray(mapping[raw].astype(dtype)), ordered)


def _attribute(array, name: str, pa, pc) -> DictionaryColumn:
    if pa.types.is_boolean(array.type):             # a value-less attribute: true = present
        present = array.fill_null(False).to_numpy(zero_copy_only=False)
        return DictionaryColumn(np.where(present, 1, 0).astype(np.uint8), ())
    if pa.types.is_null(array.type):
        return DictionaryColumn.absent(len(array))
    return _dictionary(array, name, pa, pc)


def _integers(array, name: str, n: int, pa, pc) -> np.ndarray:
    """Whole numbers from 0 to 2^52 (as the ECS JSON reader holds them: safe in int64 sums)."""
    if array is None:
        return np.zeros(n, dtype=np.int64)
    if not (pa.types.is_integer(array.type) or pa.types.is_floating(array.type)):
        raise InputError(f"column {name!r} must hold integers, not {array.type}")
    values = array.fill_null(0).to_numpy(zero_copy_only=False)
    # pandas turns an integer column with a gap into floats: those must be whole. Compared before
    # any cast to int64, so that a uint64 or a 1e300 cannot wrap round
    if values.dtype.kind == "f":
        values = values.astype(np.float64)
    bad = (values < 0) | (values > MAX_AMOUNT)
    if values.dtype.kind == "f":
        bad |= ~np.isfinite(values) | (values != np.floor(values))
    if bad.any():
        row = int(np.argmax(bad))
        value = values[row].item()
        problem = "negative values are not allowed" if value < 0 else "not a whole number from 0 to 2^52"
        raise InputError(f"column {name!r} row {row}: {value!r}: {problem}")
    return np.ascontiguousarray(values.astype(np.int64))


def _versions(array, n: int, pa) -> np.ndarray:
    if array is None:
        return np.full(n, INT_ABSENT, dtype=np.int64)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise InputError(f"agentVersion must hold strings like '1.14.5', not {array.type}")
    texts = array.to_pylist()
    packed = {}
    for text in set(texts):
        version = values.parse_version(text) if text else None     # unreadable: absent, as in ECS JSON
        if version is not None and not version_fits(version):
            raise InputError(f"agentVersion row {texts.index(text)}: {preview(text)} has a component too large "
                             "to compare (at most 4194303.1048575.1048575)")
        packed[text] = pack_version(version)
    return np.array([packed[t] for t in texts], dtype=np.int64)


def _instants(array, n: int, pa, pc) -> np.ndarray:
    if array is None:
        return np.full(n, INT_ABSENT, dtype=np.int64)
    if pa.types.is_timestamp(array.type):
        try:
            micros = pc.cast(array, pa.timestamp("us", tz=array.type.tz)).cast(pa.int64())
        except pa.ArrowInvalid:
            raise InputError("registeredAt holds an instant outside years 1 to 9999") from None
        result = micros.to_numpy(zero_copy_only=False)
        outside = np.flatnonzero(micros.is_valid().to_numpy(zero_copy_only=False)
                                 & ((result < EARLIEST_MICROS) | (result > LATEST_MICROS)))
        if len(outside):
            raise InputError(f"registeredAt row {outside[0]}: the instant is outside years 1 to 9999")
        return micros.fill_null(INT_ABSENT).to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        result = np.empty(n, dtype=np.int64)
        for i, text in enumerate(array.to_pylist()):
            micros = values.parse_timestamp(text) if text is not None else INT_ABSENT
            if micros is None:
                raise InputError(f"registeredAt row {i}: {preview(text)} is not an ISO-8601 time in years 1 to 9999")
            result[i] = micros
        return result
    raise InputError(f"registeredAt must be a timestamp or string column, not {array.type}")


def _groups(array, n: int, pa) -> GroupColumn:
    if array is None:
        return GroupColumn.from_rows([{}] * n)
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        raise InputError(f"task:group must be a list<string> column, not {array.type}")
    rows = []
    for groups in array.to_pylist():
        counts: dict[str, int] = {}
        for group in groups or ():
            if not isinstance(group, str):
                raise InputError(f"task:group holds {group!r}, not a group name")
            counts[group] = counts.get(group, 0) + 1
        rows.append(counts)
    return GroupColumn.from_rows(rows)


def _ports(array, n: int, pa) -> SharedColumn:
    if array is None:
        return SharedColumn(np.zeros(n, dtype=np.uint8), (frozenset(),))
    if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
        raise InputError(f"remainingResources.PORTS must be a list<string> column, not {array.type}")
    rows = []
    for row, ports in enumerate(array.to_pylist()):
        numbers = [values.parse_port(p) if isinstance(p, str) else None for p in ports or ()]
        if None in numbers:
            raise InputError(f"remainingResources.PORTS row {row}: {preview(ports[numbers.index(None)])} "
                             "is not a port number (1 to 65535, as text)")
        rows.append(frozenset(numbers))
    return SharedColumn.from_values(rows)


def to_arrow(columns: Columns):
    """The fleet as an Arrow table in the layout ``columns_from_arrow`` reads (vectorised: a
    million rows take about a second)."""
    pa, _ = _pyarrow()

    def strings(column: DictionaryColumn):
        codes = column.codes.astype(np.int32)
        mask = (codes == column.absent_code) | (codes == column.valueless_code)
        index = np.where(mask, 0, codes - 2 * (codes > column.absent_code))
        return pa.DictionaryArray.from_arrays(pa.array(index, mask=mask),
                                              pa.array(list(column.dictionary), type=pa.string()))

    def lists(lengths: np.ndarray, values):
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), values)

    n = len(columns)
    connected = columns.agent_connected
    truth = connected.table(np.array(connected.dictionary, dtype=bool))[connected.codes]
    versions, which = np.unique(columns.agent_version, return_inverse=True)
    version_text = np.array([None if v is None else values.format_version(v)
                             for v in map(values.unpack_version, versions.tolist())], dtype=object)
    groups = columns.groups
    rows = np.repeat(np.arange(n), np.diff(groups.offsets))
    tasks_per_row = np.bincount(rows, weights=groups.counts, minlength=n).astype(np.int64)
    group_names = np.array(groups.dictionary, dtype=object)[np.repeat(groups.codes, groups.counts)]
    port_lists = [sorted(ports) for ports in columns.ports]
    arns = columns.arns.tolist() if hasattr(columns.arns, "tolist") else list(columns.arns)
    data = {"containerInstanceArn": pa.array(arns, type=pa.string()),
            "ec2InstanceId": strings(columns.instance_id), "status": strings(columns.status),
            "agentConnected": pa.array(truth, mask=(connected.codes == connected.absent_code)
                                       | (connected.codes == connected.valueless_code)),
            "runningTasksCount": pa.array(columns.running_tasks),
            "registeredAt": pa.array(np.where(columns.registered_at == INT_ABSENT, 0, columns.registered_at),
                                     type=pa.timestamp("us", tz="UTC"),
                                     mask=columns.registered_at == INT_ABSENT),
            "agentVersion": pa.array(version_text[which.reshape(-1)], type=pa.string())}
    for name, column in columns.attributes.items():
        if not column.dictionary:
            data[f"attribute:{name}"] = pa.array(column.codes == column.valueless_code)
        elif np.any(column.codes == column.valueless_code):
            raise InputError(f"attribute {name!r} is value-less on some instances and valued on others; "
                             f"Arrow columns cannot hold both")
        else:
            data[f"attribute:{name}"] = strings(column)
    data["task:group"] = lists(tasks_per_row, pa.array(group_names, type=pa.string()))
    for name, key in _RESOURCE_COLUMNS.items():
        data[name] = pa.array(columns.resources[key])
    data["remainingResources.PORTS"] = lists(np.array([len(p) for p in port_lists], dtype=np.int64),
                                             pa.array([str(p) for ports in port_lists for p in ports],
                                                      type=pa.string()))
    return pa.table(data)


# -- table files -------------------------------------------------------------------------------

TABLE_SUFFIXES = (".csv", ".parquet", ".feather", ".arrow", ".ipc")
VALUELESS_TOKEN = "(value-less)"                # a value-less attribute's CSV cell
_LISTS = ("task:group", "remainingResources.PORTS")
_WHOLE = ("runningTasksCount", *_RESOURCE_COLUMNS)


def read_table_file(path: Path) -> "Fleet":
    """A fleet from a CSV, Parquet or Arrow IPC file (by suffix), with a warning per default it assumed."""
    from placement.fleet.model import Fleet
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"{path}: a fleet table file ends in one of {', '.join(TABLE_SUFFIXES)}")
    try:
        pa, pc = _pyarrow()
    except InputError as error:
        raise InputError(f"{path}: {error.message}") from None
    try:
        table = _read_csv(path, pa, pc) if suffix == ".csv" else _read_arrow(path, suffix, pa)
        table, warnings = _assume_defaults(table, path, pa)
        columns = columns_from_arrow(table)
    except InputError as error:
        raise InputError(f"{path}: {error.message}") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the file: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a CSV fleet table: the file is not UTF-8 text") from None
    except UnicodeEncodeError:                  # pyarrow opens files by UTF-8 name only
        raise InputError(f"{preview(str(path))}: cannot read the file: its name is not UTF-8 text") from None
    except pa.ArrowException as error:
        kind = {".csv": "CSV", ".parquet": "Parquet"}.get(suffix, "Arrow IPC")
        raise InputError(f"{path}: not a {kind} fleet table: {error}") from None
    return Fleet(columns, warnings=warnings)


def _read_arrow(path: Path, suffix: str, pa):
    if suffix == ".parquet":
        import pyarrow.parquet as pq
        return pq.read_table(path)
    if suffix == ".feather":                    # Feather v1 or v2 (v2 is the IPC file format)
        import pyarrow.feather as feather
        return feather.read_table(path)
    with pa.memory_map(str(path)) as source:
        try:
            return pa.ipc.open_file(source).read_all()
        except pa.ArrowInvalid:                 # not the file format: the stream format
            source.seek(0)
            return pa.ipc.open_stream(source).read_all()


def _read_csv(path: Path, pa, pc):
    """Every column as text (no type guessing: ``007`` is no number), then each typed by its name."""
    import csv
    import pyarrow.csv as pacsv
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise InputError("the file is empty; a fleet table starts with a header line of column names")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(f"column {repeated[0]!r} appears more than once in the header")
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=header, skip_rows=1),
                           convert_options=pacsv.ConvertOptions(
                               column_types={name: pa.string() for name in header}, null_values=[""],
                               strings_can_be_null=True, quoted_strings_can_be_null=True))
    for name in header:
        array = table.column(name).combine_chunks()
        if name in _WHOLE:
            typed = _whole_numbers(array, name, pa, pc)
        elif name == "agentConnected":
            typed = _booleans(array, name, pa, pc)
        elif name in _LISTS:
            trimmed = pc.utf8_trim_whitespace(array)
            typed = pc.split_pattern_regex(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed),
                                           r"\s+")
        elif name.startswith("attribute:") and pc.any(pc.equal(array, VALUELESS_TOKEN)).as_py():
            present = pc.equal(array, VALUELESS_TOKEN)
            if pc.sum(present).as_py() != len(array) - array.null_count:
                row = _first(pc.invert(present.fill_null(True)))
                raise InputError(f"column {name!r} row {row}: {array[row].as_py()!r} in a column of "
                                 f"value-less {VALUELESS_TOKEN} cells; an attribute is value-less or valued")
            typed = present.fill_null(False)
        else:
            continue
        table = table.set_column(table.column_names.index(name), name, typed)
    return table


def _first(mask) -> int:
    """The row of the first true in a bool array (0-based, the header not counted)."""
    return int(np.argmax(mask.to_numpy(zero_copy_only=False)))


def _whole_numbers(array, name: str, pa, pc):
    ok = pc.match_substring_regex(array, r"^\s*\d{1,16}\s*$")        # 2^52 has 16 digits: the rest is _integers'
    if pc.any(pc.invert(ok.fill_null(True))).as_py():
        row = _first(pc.invert(ok.fill_null(True)))
        raise InputError(f"column {name!r} row {row}: {preview(array[row].as_py())} "
                         "is not a whole number from 0 to 2^52")
    return pc.cast(pc.utf8_trim_whitespace(array), pa.int64())


def _booleans(array, name: str, pa, pc):
    lower = pc.utf8_lower(pc.utf8_trim_whitespace(array))
    truth, falsity = pc.equal(lower, "true"), pc.equal(lower, "false")
    bad = pc.invert(pc.or_(truth, falsity).fill_null(True))
    if pc.any(bad).as_py():
        row = _first(bad)
        raise InputError(f"column {name!r} row {row}: {array[row].as_py()!r} is not true or false")
    return truth


def _assume_defaults(table, path: Path, pa) -> tuple[object, list[str]]:
    """The columns a placement needs that the file lacks, filled in, and a warning for each."""
    warnings: list[str] = []
    n, names = table.num_rows, set(table.column_names)

    def assume(name: str, array, default: str) -> None:
        nonlocal table
        table = table.append_column(name, array)
        warnings.append(f"{path.name}: no {name!r} column; assumed {default}")

    if "containerInstanceArn" not in names:
        raise InputError("a fleet table needs a containerInstanceArn column")
    if "status" not in names:
        assume("status", pa.array(["ACTIVE"] * n, type=pa.string()), "every instance ACTIVE")
    if "agentConnected" not in names:
        assume("agentConnected", pa.array(np.ones(n, dtype=bool)), "every agent connected (true)")
    for resource in ("CPU", "MEMORY"):
        remaining, registered = f"remainingResources.{resource}", f"registeredResources.{resource}"
        for name, other in ((remaining, registered), (registered, remaining)):
            if name in names:
                continue
            if other in names:
                assume(name, table.column(other), f"equal to {other!r}")
            else:
                assume(name, pa.array(np.zeros(n, dtype=np.int64)), "0")
    return table, warnings


def write_table_file(fleet: "Fleet", path: Path) -> None:
    """Write ``fleet`` as the table file ``read_table_file`` reads back (the format by suffix)."""
    pa, pc = _pyarrow()
    path = Path(path)
    suffix = path.suffix.lower()
    table = fleet.to_arrow()
    if suffix == ".csv":
        import pyarrow.csv as pacsv
        for name in table.column_names:
            array = table.column(name).combine_chunks()
            if name in _LISTS:
                typed = pc.binary_join(array, " ")
            elif name.startswith("attribute:") and pa.types.is_boolean(array.type):
                typed = pc.if_else(array, VALUELESS_TOKEN, pa.scalar(None, pa.string()))
            elif name == "registeredAt":
                typed = pc.if_else(pc.is_null(array), pa.scalar(None, pa.string()),
                                   pc.binary_join_element_wise(pc.strftime(array, format="%Y-%m-%dT%H:%M:%S"),
                                                               "Z", ""))
            elif pa.types.is_dictionary(array.type):
                typed = array.cast(pa.string())
            else:
                continue
            table = table.set_column(table.column_names.index(name), name, typed)
        pacsv.write_csv(table, path)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq
        pq.write_table(table, path)
    elif suffix == ".feather":
        import pyarrow.feather as feather
        feather.write_feather(table, path)
    elif suffix in (".arrow", ".ipc"):
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
    else:
        raise InputError(f"{path}: a fleet table file ends in one of {', '.join(TABLE_SUFFIXES)}")
