"""Connect to a Dask cluster: a ``LocalCluster`` on this machine or a scheduler address.

``--scheduler local`` / ``local:N`` starts N worker processes (default: one per core) with one thread each
and a bounded memory per worker (:data:`DEFAULT_WORKER_MEMORY`, or ``local:N:4GiB``); any other value is a
scheduler address (``tcp://host:8786``) of a cluster started elsewhere, whose workers keep their own limits.
Dask is an optional extra: ``pip install 'weihai-gis[dask]'``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.forkserver
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from weihai_gis.errors import WeihaiGISError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DEFAULT_WORKER_MEMORY", "SchedulerSpec", "connect", "parse_scheduler", "require_dask"]

log = logging.getLogger(__name__)

#: Memory limit of each local worker: dask spills to disk at 60 % of it, pauses at 80 % and restarts the
#: worker at 95 %, so one worker never takes the machine (a partition of a few thousand origins needs tens
#: of MB; the whole network held by every worker is the larger part, see README "Dask").
DEFAULT_WORKER_MEMORY = "2GiB"


class DaskMissingError(WeihaiGISError):
    """Dask (the optional ``dask`` extra) is needed and not installed."""


def require_dask() -> None:
    """Raise :class:`DaskMissingError` naming the extra to install when dask.distributed is missing."""
    try:
        import dask_geopandas  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise DaskMissingError(
            f"running on a Dask cluster needs dask, distributed and dask-geopandas ({exc.name} is missing): "
            "pip install 'weihai-gis[dask]'."
        ) from exc


@dataclass(frozen=True)
class SchedulerSpec:
    """Where to run: a local cluster of ``n_workers`` or a scheduler ``address``.

    Attributes
    ----------
    address
        Scheduler address, or None for a local cluster.
    n_workers
        Local worker processes (None: one per core).
    memory_limit
        Memory limit per local worker (dask size string, e.g. ``"2GiB"``).
    """

    address: str | None = None
    n_workers: int | None = None
    memory_limit: str = DEFAULT_WORKER_MEMORY

    def describe(self) -> str:
        """Return a one-line description for logs and reports."""
        if self.address:
            return f"Dask scheduler {self.address}"
        n = self.n_workers or os.cpu_count() or 1
        return (
            f"Dask LocalCluster, {n} worker processes × 1 thread, memory limit {self.memory_limit} per worker"
        )


def parse_scheduler(value: str) -> SchedulerSpec:
    """Parse ``local``, ``local:N``, ``local:N:MEMORY`` or a scheduler address.

    Raises
    ------
    ValueError
        When ``local:`` is followed by something other than a positive worker count (and a memory size).
    """
    text = value.strip()
    if text == "local" or text.startswith("local:"):
        parts = text.split(":")[1:]
        if len(parts) > 2 or (parts and not parts[0].isdigit()) or (parts and int(parts[0]) < 1):
            raise ValueError(
                f"--scheduler {value!r}: expected local, local:N or local:N:MEMORY (N workers >= 1, e.g. "
                "local:2:3GiB), or a scheduler address such as tcp://10.0.0.5:8786."
            )
        n = int(parts[0]) if parts else None
        return SchedulerSpec(n_workers=n, memory_limit=parts[1] if len(parts) == 2 else DEFAULT_WORKER_MEMORY)
    if not text:
        raise ValueError("--scheduler: empty; expected local, local:N or a scheduler address.")
    return SchedulerSpec(address=text if "://" in text else f"tcp://{text}")


@contextlib.contextmanager
def connect(scheduler: str | SchedulerSpec | Client, **cluster_kwargs: Any) -> Iterator[Client]:
    """Yield a dask.distributed ``Client`` for ``scheduler``; a cluster started here is closed on exit.

    Parameters
    ----------
    scheduler
        ``"local[:N[:MEMORY]]"``, a scheduler address, a :class:`SchedulerSpec`, or an existing client
        (yielded as is and left open).
    **cluster_kwargs
        Extra ``LocalCluster`` arguments (e.g. ``processes=False`` in tests).
    """
    require_dask()
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    spec = parse_scheduler(scheduler) if isinstance(scheduler, str) else scheduler
    log.info("%s", spec.describe())
    if spec.address:
        with Client(spec.address) as client:
            yield client
        return
    kwargs: dict[str, Any] = {
        "n_workers": spec.n_workers or os.cpu_count() or 1,
        "threads_per_worker": 1,
        "memory_limit": spec.memory_limit,
        "dashboard_address": None,
        "scheduler_kwargs": {"dashboard": False},
        **cluster_kwargs,
    }
    with _forkserver(), LocalCluster(**kwargs) as cluster, Client(cluster) as client:
        yield client


#: Modules the local workers' fork server imports once, so that a worker (and a worker restarted after a
#: crash) starts without importing the toolkit again.
PRELOAD = ("weihai_gis.distributed.coverage", "weihai_gis.planning.whatif")


@contextlib.contextmanager
def _forkserver() -> Iterator[None]:
    """Start local workers from a fork server that has the toolkit imported (seconds less per worker)."""
    import dask
    from distributed.utils import get_mp_context

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        ctx = get_mp_context()  # sets dask's own preload list (distributed, numpy, pandas, ...)
        server = getattr(multiprocessing.forkserver, "_forkserver", None)
        preload = list(getattr(server, "_preload_modules", None) or ["distributed"])
        ctx.set_forkserver_preload([*preload, *(m for m in PRELOAD if m not in preload)])
        yield
