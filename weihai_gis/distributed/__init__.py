"""Coverage and scenario sweeps on a Dask cluster, equal to the single-machine result.

``distributed_coverage`` partitions the origins spatially and runs the engine per partition on its exact
sub-network; ``sweep`` fans what-if scenarios (:class:`weihai_gis.planning.whatif.Scenario`) out over the same cluster; ``distributed_cost_matrix`` splits the siting / 2SFCA cost matrix by sites. Dask is the optional extra
``pip install 'weihai-gis[dask]'``: this package imports without it, and a clear error names the extra
when a cluster is asked for.
"""

from __future__ import annotations

from weihai_gis.distributed.cluster import DEFAULT_WORKER_MEMORY, SchedulerSpec, connect, parse_scheduler
from weihai_gis.distributed.coverage import DaskDistances, distributed_coverage
from weihai_gis.distributed.matrix import distributed_cost_matrix
from weihai_gis.distributed.partition import Partition, plan_partitions, subnetwork
from weihai_gis.distributed.sweep import sweep

__all__ = [
    "DEFAULT_WORKER_MEMORY",
    "DaskDistances",
    "Partition",
    "SchedulerSpec",
    "connect",
    "distributed_cost_matrix",
    "distributed_coverage",
    "parse_scheduler",
    "plan_partitions",
    "subnetwork",
    "sweep",
]
