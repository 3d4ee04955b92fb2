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
EARLIEST_MICROS = -62_135_596_800_000_000        # 0001-01-01T00:00:00Z: the instants a datetime can show
LATEST_MICROS = 253_402_300_799_999_999          # 9999-12-31T23:59:59.999999Z

Version = tuple[int, int, int]

ABSENT = object()        # a field the instance does not have
VALUELESS = object()     # an attribute the instance has without a value (ecs.capability.*)

INT_ABSENT = -(1 << 63)          # the int64 key of "no value" in numeric columns
INT_MAX = (1 << 63) - 1


def clamp_int64(value: int) -> int:
    """An integer literal as an int64 key: beyond the range, it compares like the extreme."""
    return max(INT_ABSENT + 1, min(INT_MAX, value))


_VERSION_LIMITS = (1 << 22, 1 << 20, 1 << 20)     # major, minor, patch: 62 bits


def version_fits(version: Version) -> bool:
    """Whether a fleet can store ``version`` exactly (components below 2^22, 2^20, 2^20)."""
    return all(0 <= part < limit for part, limit in zip(version, _VERSION_LIMITS))


def pack_version(version: Version | None) -> int:
    """An agent version as one order-preserving int64 key: twice its 62-bit packing when it fits,
    so that a version that does not fit (only a literal can be one: fleets refuse them) takes the
    odd key just above the largest version that fits below it. Every comparison of a fleet's key
    with a literal's then answers as the versions themselves do."""
    if version is None:
        return INT_ABSENT
    if version_fits(version):
        return _packed(version) << 1
    floor = list(version)
    for k, limit in enumerate(_VERSION_LIMITS):      # the first component too large, and all after it
        if floor[k] >= limit:
            floor[k:] = [top - 1 for top in _VERSION_LIMITS[k:]]
            break
    return (_packed(floor) << 1) | 1


def _packed(version) -> int:
    major, minor, patch = version
    return (major << 40) | (minor << 20) | patch


def unpack_version(packed: int) -> Version | None:
    """The version of a fleet's key (always even)."""
    if packed == INT_ABSENT:
        return None
    packed >>= 1
    return (packed >> 40, (packed >> 20) & 0xFFFFF, packed & 0xFFFFF)


def _whole(digits: str) -> int:
    """A run of ASCII digits as an int. Past 20 significant digits it reads as 10^20: beyond every
    int64, so it compares with every fleet value as the number written does, and unlike a
    5,000-digit int it can be printed (``int`` refuses text of over 4,300 digits)."""
    significant = digits.lstrip("0")
    return int(significant or "0") if len(significant) <= 20 else 10 ** 20


def parse_number(text: str) -> float | None:
    """``-?digits[.digits][e±digits]``: the numbers attribute ordering compares."""
    return float(text) if _NUMBER.match(text) else None


def parse_count(text: str) -> int | None:
    """Digits only: a ``runningTasksCount`` literal."""
    return _whole(text) if _COUNT.match(text) else None


def parse_bool(text: str) -> bool | None:
    """``true`` / ``false``, lower case, as ECS writes ``agentConnected``."""
    return {"true": True, "false": False}.get(text)


def parse_version(text: str) -> Version | None:
    """``X[.Y[.Z]]`` with missing components 0, so ``1.14`` == ``1.14.0`` and ``1.9 < 1.14``."""
    match = _VERSION.match(text)
    if not match:
        return None
    return tuple(_whole(part or "0") for part in match.groups())  # type: ignore[return-value]


def is_unicode(text: str | None) -> bool:
    """Not a ``str`` holding a lone surrogate (``"\\ud800"``: a legal JSON escape, what the shell
    passes for bytes that are not UTF-8), which no pattern, table or terminal can read."""
    if text is None or text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_port(text: str) -> int | None:
    """A TCP host port as a fleet lists it (``PORTS``): ASCII digits, 1 to 65535."""
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) < 8 and 0 < int(text) < 65536 else None


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


def datetime_to_micros(moment: dt.datetime) -> int | None:
    """Microseconds since the epoch; a naive datetime is taken as UTC. None for an instant
    outside years 1 to 9999 in UTC (``9999-12-31T23:59:59-05:00`` is one): it could not be shown."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    delta = moment - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros if EARLIEST_MICROS <= micros <= LATEST_MICROS else None


def format_micros(micros: int) -> str:
    """An instant in the range ``datetime_to_micros`` gives, as ISO-8601 in UTC."""
    return (_EPOCH + dt.timedelta(microseconds=micros)).isoformat().replace("+00:00", "Z")
