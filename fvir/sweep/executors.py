"""Where sweep points run: any `concurrent.futures.Executor`.

- `process`: the standard library's process pool on this machine (nothing to install or start).
- `dask`: a local Dask distributed cluster of `workers` single-threaded worker processes,
  started and stopped here.
- `dask://HOST:PORT`: an existing Dask scheduler (`dask scheduler` and `dask worker` on other
  machines); workers need fvir installed, not a shared file system: a point carries its
  scenario as data and compiles its models into the worker's own package cache.

Dask's executor resubmits the points of a worker that dies to the others (the scheduler's own
bookkeeping: a result is accepted once), and `retries` covers points that raise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from fvir.errors import UserError

_DASK_URL = re.compile(r"dask://(?P<host>[^:/]+):(?P<port>[0-9]+)")


def check_executor(spec: str) -> None:
    """A one-line error for an executor name the sweep cannot use."""
    if spec in ("process", "dask") or _DASK_URL.fullmatch(spec):
        if spec.startswith("dask"):
            try:
                import distributed  # noqa: F401
            except ImportError:
                raise UserError("--executor dask needs Dask distributed: "
                                "pip install 'fvir[dask]'") from None
        return
    raise UserError(f"unknown executor '{spec}': process, dask or dask://HOST:PORT")


@contextmanager
def open_executor(spec: str, workers: int, *, retries: int = 2) -> Iterator[Executor]:
    """An executor of kind `spec` (module docstring) with `workers` workers."""
    check_executor(spec)
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    if spec == "process":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
        return
    from distributed import Client, LocalCluster

    if spec == "dask":
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client.get_executor(retries=retries, pure=False)
        return
    match = _DASK_URL.fullmatch(spec)
    assert match is not None
    address = f"tcp://{match['host']}:{match['port']}"
    try:
        client = Client(address, timeout=10)
    except OSError as e:
        raise UserError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    with client:
        yield client.get_executor(retries=retries, pure=False)
