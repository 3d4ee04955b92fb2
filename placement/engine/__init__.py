"""Evaluation of a typed expression over a fleet.

The kernels use OpenMP for ``threads=``; a passive wait policy keeps idle worker threads from
spinning on a busy machine (set before the OpenMP runtime loads; the caller's setting wins).
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
