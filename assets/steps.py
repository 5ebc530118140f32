"""What each step's pod gets when a run's steps are Kubernetes Jobs (``SENTINEL_EXECUTOR=k8s``,
dagster-k8s's ``k8s_job_executor``): the ``dagster-k8s/config`` op tag, merged by dagster-k8s over the run
launcher's settings (k8s/values.yaml ``runK8sConfig``: image, env sources, volumes, security context).
Other executors ignore these tags; the run pod itself keeps runK8sConfig's resources.

Ingest and features read and write the most: the run pod's size. A detector or the alerts step reads one
asset's hours: half of it, with a DuckDB limit to match (tests/test_k8s.py keeps each limit safely under
its pod's memory). Steps without a tag (asset checks) get the run launcher's resources.
"""

from __future__ import annotations


def k8s_step(cpu: int, memory: str, duckdb_memory_limit: str) -> dict:
    """The op tags of a step whose pod gets ``cpu`` cores and ``memory`` (requests = limits: Guaranteed
    QoS), and DuckDB as many threads and ``duckdb_memory_limit`` (explicit env entries win over the
    ConfigMap's)."""
    quantities = {"cpu": str(cpu), "memory": memory}
    return {"dagster-k8s/config": {"container_config": {
        "resources": {"requests": quantities, "limits": quantities},
        "env": [{"name": "SENTINEL_DUCKDB_MEMORY_LIMIT", "value": duckdb_memory_limit},
                {"name": "SENTINEL_DUCKDB_THREADS", "value": str(cpu)}],
    }}}


HEAVY_STEP = k8s_step(2, "6Gi", "4GB")  # raw_cdrs, caller_features
LIGHT_STEP = k8s_step(1, "3Gi", "1500MB")  # each detector, alerts
