"""Builds the Cython kernels and ships the grammar inside the package (as ``placement.grammar``).

Cython directives are set once here: bounds and wraparound checks off, because every kernel input
is validated in Python first. ``PLACEMENT_DEBUG_BUILD=1`` turns the checks back on; CI runs the
test suite once in that mode.

The default build uses portable flags. On x86-64 the predicate kernel is built a second time for
AVX2 (``_kernels_avx2``, from a copy of the same source); ``placement.engine.kernels`` loads it
only on a CPU that has AVX2, like numpy's own runtime dispatch.
"""
import os
import platform
import shutil
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

DEBUG = os.environ.get("PLACEMENT_DEBUG_BUILD") == "1"
DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}

SIMD_VARIANTS = {"avx2": ["-mavx2", "-mbmi", "-mbmi2", "-mpopcnt"]} if platform.machine() in ("x86_64", "AMD64") else {}
KERNELS = Path("placement/engine/_kernels")


def extension(path: Path, flags=()) -> Extension:
    return Extension(
        ".".join(path.with_suffix("").parts),
        [str(path)],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), ("PLACEMENT_DEBUG", str(int(DEBUG)))],
        extra_compile_args=(["-O3"] if not DEBUG else ["-O0", "-g"]) + ["-fopenmp", *flags],
        extra_link_args=["-fopenmp"],
    )


sources = sorted(p for p in Path("placement").rglob("*.pyx") if not p.stem.startswith("_kernels_"))
extensions = [extension(path) for path in sources]
for variant, flags in SIMD_VARIANTS.items():
    copy = KERNELS.with_name(f"_kernels_{variant}")
    for suffix in (".pyx", ".pxd"):                      # generated; .gitignore keeps them out
        shutil.copyfile(KERNELS.with_suffix(suffix), copy.with_suffix(suffix))
    extensions.append(extension(copy.with_suffix(".pyx"), flags))

setup(
    packages=find_packages(include=["placement", "placement.*"]) + ["placement.grammar"],
    package_dir={"placement.grammar": "grammar"},
    package_data={"placement.grammar": ["*.lark"], "placement": ["py.typed", "**/*.pyi", "**/*.pxd", "place/*.json"]},
    # force: the generated C depends on DIRECTIVES, which a timestamp check cannot see.
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, include_path=["."], quiet=True, force=True),
    zip_safe=False,
)
