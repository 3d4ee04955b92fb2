"""Builds the Cython kernels and ships the grammar inside the package (as ``placement.grammar``).

Cython directives are set once here: bounds and wraparound checks off, because every kernel input
is validated in Python first. ``PLACEMENT_DEBUG_BUILD=1`` turns the checks back on; CI runs the
test suite once in that mode.
"""
import os
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

extensions = [
    Extension(
        ".".join(path.with_suffix("").parts),
        [str(path)],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), ("PLACEMENT_DEBUG", str(int(DEBUG)))],
        extra_compile_args=(["-O3"] if not DEBUG else ["-O0", "-g"]) + ["-fopenmp"],
        extra_link_args=["-fopenmp"],
    )
    for path in sorted(Path("placement").rglob("*.pyx"))
]

setup(
    packages=find_packages(include=["placement", "placement.*"]) + ["placement.grammar"],
    package_dir={"placement.grammar": "grammar"},
    package_data={"placement.grammar": ["*.lark"], "placement": ["py.typed", "**/*.pyi", "**/*.pxd"]},
    # force: the generated C depends on DIRECTIVES, which a timestamp check cannot see.
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES, quiet=True, force=True),
    zip_safe=False,
)
