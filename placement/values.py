"""Typed values shared by the language and the fleet: numbers, versions, instants, booleans.

A literal in an expression and the same kind of value in a fleet document are parsed by the same
functions, so ``agentVersion > 1.9`` and an instance's ``1.14.5`` can never disagree about what
a version is. Every parser returns ``None`` for text it does not accept; callers decide whether
that is a type error (a literal) or an absent value (a fleet).
"""
from __future__ import annotations

import datetime as dt
import re

# re.ASCII: "digits" are 0-9; Python's \d would also take Arabic-Indic and other digits.
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\Z", re.ASCII)
_COUNT = re.compile(r"\d+\Z", re.ASCII)
_VERSION = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?\Z", re.ASCII)
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?)?\Z", re.ASCII)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

Version = tuple[int, int, int]

ABSENT = object()        # a field the instance does not have
VALUELESS = object()     # an attribute the instance has without a value (ecs.capability.*)

INT_ABSENT = -(1 << 63)          # the int64 key of "no value" in numeric columns
INT_MAX = (1 << 63) - 1


def clamp_int64(value: int) -> int:
    """An integer literal as an int64 key: beyond the range, it compares like the extreme."""
    return max(INT_ABSENT + 1, min(INT_MAX, value))


_VERSION_BITS = (22, 20, 20)        # major, minor, patch: 62 bits, order-preserving


def pack_version(version: tuple[int, int, int] | None) -> int:
    """An agent version as one order-preserving int64; out-of-range components sort last."""
    if version is None:
        return INT_ABSENT
    major, minor, patch = version
    if major >= 1 << 22 or minor >= 1 << 20 or patch >= 1 << 20:
        return INT_MAX
    return (major << 40) | (minor << 20) | patch


def unpack_version(packed: int) -> tuple[int, int, int] | None:
    if packed == INT_ABSENT:
        return None
    return (packed >> 40, (packed >> 20) & 0xFFFFF, packed & 0xFFFFF)




def parse_number(text: str) -> float | None:
    """``-?digits[.digits][e±digits]``: the numbers attribute ordering compares."""
    return float(text) if _NUMBER.match(text) else None


def parse_count(text: str) -> int | None:
    """Digits only: a ``runningTasksCount`` literal."""
    return int(text) if _COUNT.match(text) else None


def parse_bool(text: str) -> bool | None:
    """``true`` / ``false``, lower case, as ECS writes ``agentConnected``."""
    return {"true": True, "false": False}.get(text)


def parse_version(text: str) -> Version | None:
    """``X[.Y[.Z]]`` with missing components 0, so ``1.14`` == ``1.14.0`` and ``1.9 < 1.14``."""
    match = _VERSION.match(text)
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


def format_version(version: Version) -> str:
    return ".".join(map(str, version))


def parse_timestamp(text: str) -> int | None:
    """An instant as integer microseconds since the epoch, from the registeredAt literal formats.

    ``YYYY-MM-DD[THH:MM:SS[.fraction][Z|±HH:MM]]``; no zone means UTC, a date alone is midnight
    UTC, fractions beyond microseconds are truncated.
    """
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = dt.timezone.utc
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                             int(second or 0), micros, tzinfo=tz)
    except ValueError:
        return None
    return datetime_to_micros(moment)


def datetime_to_micros(moment: dt.datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def format_micros(micros: int) -> str:
    return (_EPOCH + dt.timedelta(microseconds=micros)).isoformat().replace("+00:00", "Z")
