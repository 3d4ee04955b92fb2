"""Reaching a Dask cluster: the optional import said as an input error, and ``connect``.

``connect(address)`` is a ``dask.distributed.Client`` of the scheduler at ``address``
(``tcp://host:8786``, or a scheduler file ``*.json``); ``connect(jobs=N)`` starts a
``LocalCluster`` of N worker processes of one thread each on this machine (what ``--jobs N``
runs on) and closes it afterwards. Both are context managers. A missing extra, an unreachable
scheduler or a bad worker count is one ``InputError`` line, never a traceback.
"""
from __future__ import annotations

import contextlib
import os

from placement.errors import InputError

CONNECT_TIMEOUT_S = 10
MAX_JOBS = 256
MISSING = "the Dask backend needs its extra: pip install 'placement[dask]'"


def require_dask():
    """``dask`` and ``dask.distributed``, or the InputError that says how to install them."""
    try:
        import dask
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError as error:
        raise InputError(f"{MISSING} ({error.name or error} is missing)") from None
    return dask, distributed


@contextlib.contextmanager
def connect(address: str | None = None, jobs: int | None = None, timeout: float = CONNECT_TIMEOUT_S):
    """A client of the scheduler at ``address``, or of a new local cluster of ``jobs`` processes."""
    _, distributed = require_dask()
    if (address is None) == (jobs is None):
        raise InputError("give a Dask scheduler address or a number of local jobs, not both or neither")
    if address is not None:
        if not isinstance(address, str) or not address.strip():
            raise InputError(f"a Dask scheduler address is like tcp://host:8786, got {address!r}")
        client = _client(distributed, address.strip(), timeout)
        try:
            yield client
        finally:
            client.close()
        return
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= MAX_JOBS:
        raise InputError(f"--jobs takes 1 to {MAX_JOBS} local worker processes, got {jobs!r}")
    with _quiet():
        cluster = distributed.LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=40)
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        with _quiet():
            client.close()
            cluster.close()


def _client(distributed, address: str, timeout: float):
    try:
        with _quiet():
            if address.endswith(".json"):
                if not os.path.isfile(address):
                    raise InputError(f"no Dask scheduler file {address!r}")
                return distributed.Client(scheduler_file=address, timeout=timeout)
            return distributed.Client(address, timeout=timeout)
    except InputError:
        raise
    except (OSError, TimeoutError, ValueError, TypeError) as error:
        said = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"cannot reach the Dask scheduler at {address!r}: {said}",
                         hint="start one with 'dask scheduler' and workers with 'dask worker ADDRESS', "
                              "or use --jobs N for a local cluster") from None


@contextlib.contextmanager
def _quiet():
    """distributed logs a warning per retry while connecting: the error we raise says it once."""
    import logging
    loggers = [logging.getLogger(name) for name in ("distributed", "distributed.client", "distributed.comm")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def current_client(client=None):
    """``client``, else the default client of this process, else None (dask's local scheduler)."""
    if client is not None:
        return client
    require_dask()
    from distributed import default_client
    try:
        return default_client()
    except ValueError:
        return None
