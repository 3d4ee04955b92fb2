"""Which build of the predicate kernel to use: the AVX2 one where the CPU has AVX2, else the
portable one. ``PLACEMENT_KERNELS=portable`` forces the portable build (the tests compare them)."""
from __future__ import annotations

import os


def _has_avx2() -> bool:
    try:
        from numpy._core._multiarray_umath import __cpu_features__   # what numpy itself dispatches on
        return bool(__cpu_features__.get("AVX2"))
    except ImportError:                                            # pragma: no cover - numpy layout
        try:
            with open("/proc/cpuinfo") as info:
                return " avx2" in info.read()
        except OSError:
            return False


def _load():
    if os.environ.get("PLACEMENT_KERNELS", "auto") != "portable" and _has_avx2():
        try:
            from placement.engine import _kernels_avx2 as module
            return module, "avx2"
        except ImportError:
            pass
    from placement.engine import _kernels as module
    return module, "portable"


kernels, VARIANT = _load()
Program = kernels.Program
NodeKind, ColumnType, GroupMode = kernels.NodeKind, kernels.ColumnType, kernels.GroupMode
DEBUG_BUILD = kernels.DEBUG_BUILD
