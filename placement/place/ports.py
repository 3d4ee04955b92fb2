"""Host ports (SPEC 2b): the ephemeral range dynamic ports come from, and the ports never assigned.

A static host port fits an instance when no one uses it there; a dynamic one (requested as 0) is
assigned at placement, the lowest free port of the range that is not reserved, after the task's
own static ports. An instance reserves at most 100 host ports: the ones its PORTS lists and the
static ones placed on it. The bookkeeping itself is in C (``_state.pyx``); this is its contract.
"""
from __future__ import annotations

import re

from placement.errors import InputError, preview

DEFAULT_EPHEMERAL = (49153, 65535)       # Docker's default range; ECS-optimized AMIs use 32768-61000
RESERVED = (22, 2375, 2376, 51678, 51679, 51680)     # SSH, Docker, the ECS agent: never dynamic
MAX_RESERVED = 100


def ephemeral_range(value) -> tuple[int, int]:
    """``(low, high)``, or ``"LOW-HIGH"`` as the command line writes it, checked."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]{1,6})\s*-\s*([0-9]{1,6})\s*", value)
        if not match:
            raise InputError(f"an ephemeral port range is LOW-HIGH, like 32768-61000; got {preview(value)}")
        value = (int(match.group(1)), int(match.group(2)))
    try:
        low, high = value
    except (TypeError, ValueError):
        raise InputError(f"an ephemeral port range is a pair (low, high), got {preview(value)}") from None
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in (low, high)) or not 1 <= low <= high <= 65535:
        raise InputError(f"an ephemeral port range needs 1 <= low <= high <= 65535, got {preview(value)}")
    return low, high
