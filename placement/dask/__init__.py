"""The scale-out backend on Dask: partitioned fleets, placement over partitions, simulation sweeps.

An optional extra (``pip install 'placement[dask]'``: ``dask[dataframe,distributed]`` and
pyarrow). The rest of ``placement`` imports this package only lazily, from the commands that
use it (``placement simulate``, to tell and run sweep files; ``--dask`` / ``--jobs`` of simulate
and bench), and this package imports dask only when one of its functions runs, so
``placement.dask.sweep`` can read a sweep file (and ``placement simulate SWEEP.yaml`` run it
in-process) without dask installed.

- ``placement.dask.frame``: ``evaluate`` / ``count`` / ``explain`` / ``select`` over a
  ``dask.dataframe`` fleet with one column per subject (the ``Fleet.from_arrow`` layout),
  partition by partition, the predicate shipped by its canonical text and compiled once per
  worker process;
- ``placement.dask.place``: ``place`` over a partitioned fleet, equal to the local ``Placer``
  for binpack / spread chains (the equivalence is stated in that module);
- ``placement.dask.sweep``: sweep files (a base scenario and parameter lists whose cross
  product gives the runs), run with ``client.map``, gathered into one report;
- ``placement.dask.bench``: throughput against workers, and the overhead per partition and run.
"""
from __future__ import annotations

_EXPORTS = {"evaluate": "frame", "count": "frame", "explain": "frame", "select": "frame", "from_arrow": "frame",
            "place": "place", "PartitionedPlacement": "place",
            "read_sweep": "sweep", "run_sweep": "sweep", "Sweep": "sweep", "SweepResult": "sweep",
            "connect": "cluster"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'placement.dask' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(f"placement.dask.{module}"), name)
