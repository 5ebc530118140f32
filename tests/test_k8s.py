"""The Kubernetes deployment (k8s/, Dockerfile): well-formed objects, settings that exist, a database URL
that lives only in a Secret, run pods with the code location's env and volumes, and a DuckDB memory limit
safely under each pod's memory limit. The run pod is built with dagster-k8s itself, from k8s/values.yaml.

No cluster is needed. `kubectl kustomize` runs when kubectl is installed; `helm template` runs only when
helm is installed and SENTINEL_DAGSTER_CHART names a local copy of the dagster/dagster chart."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sentinel_pipeline.settings import PROJECT_ROOT, Settings

K8S = PROJECT_ROOT / "k8s"
VALUES = K8S / "values.yaml"
NAMESPACE = "sentinel"
CONFIG_MAP = "sentinel-config"
DATABASE_SECRET = "sentinel-database"
S3_CONFIG = S3_SECRET = "sentinel-s3"
ENV_FROM = [{"configMapRef": {"name": CONFIG_MAP}}, {"configMapRef": {"name": S3_CONFIG}},
            {"secretRef": {"name": DATABASE_SECRET}}, {"secretRef": {"name": S3_SECRET}}]
DATA_VOLUME = "sentinel-data"  # optional (storage.yaml): only for a lake or landing zone on local paths
SCRATCH_VOLUME = "sentinel-home"
# Settings read from the environment that the ConfigMap deliberately does not set.
NOT_IN_CONFIG_MAP = {
    "DATABASE_URL": "a secret: Secret sentinel-database",
    "DAGSTER_HOME": "set by the Dagster Helm chart in its pods",
    "SENTINEL_LANDING_DIR": "the local-only spelling of SENTINEL_LANDING_URL",
    "SENTINEL_LAKE_DIR": "the local-only spelling of SENTINEL_LAKE_URL",
}
# DuckDB's limit covers its buffer manager only: Python, Arrow batches and great-expectations need the rest.
MAX_DUCKDB_SHARE = 0.70
MIN_HEADROOM_BYTES = 1536 * 2**20

_QUANTITY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_DUCKDB_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
                 "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def k8s_bytes(quantity: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i|[kMGT])?", str(quantity))
    assert m, f"not a Kubernetes memory quantity: {quantity!r}"
    return int(float(m[1]) * _QUANTITY.get(m[2] or "", 1))


def duckdb_bytes(limit: str) -> int:
    """DuckDB's memory_limit syntax: GB = 10^9 bytes, GiB = 2^30 (checked against duckdb itself below)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)\s*", limit, re.IGNORECASE)
    assert m, f"not a DuckDB memory limit: {limit!r}"
    return int(float(m[1]) * _DUCKDB_UNITS[m[2].upper()])


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.y*ml") if p.name not in ("values.yaml", "kustomization.yaml"))


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return [d for p in manifest_files() for d in load_docs(p)]


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def by_kind(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert found, f"no {kind} {name or ''} under k8s/"
    return found


def config_map(objects) -> dict[str, str]:
    return by_kind(objects, "ConfigMap", CONFIG_MAP)[0]["data"]


def user_deployment(values) -> dict:
    deployments = values["dagster-user-deployments"]["deployments"]
    assert len(deployments) == 1
    return deployments[0]


def run_launcher(values) -> dict:
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    return values["runLauncher"]["config"]["k8sRunLauncher"]


def pod_specs(objects):
    for o in objects:
        if o["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            yield o["metadata"]["name"], o["spec"]["template"]["spec"]


def settings_read_from_env() -> set[str]:
    """Every variable Settings.from_env reads (settings.py is the one place that reads them)."""
    source = (PROJECT_ROOT / "sentinel_pipeline" / "settings.py").read_text()
    body = source[source.index("def from_env"):]
    names = set(re.findall(r"""["']((?:SENTINEL|DATABASE|LOG|ENVIRONMENT|DAGSTER_EVENT)[A-Z0-9_]*)["']""", body))
    assert {"DATABASE_URL", "SENTINEL_DUCKDB_MEMORY_LIMIT", "SENTINEL_LANDING_URL"} <= names
    return names


def walk(node, path=()):
    """(path, key, value) for every mapping entry, recursively."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, k, v
            yield from walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (i,))


# --------------------------------------------------------------------------- well-formed


def test_every_manifest_is_a_named_kubernetes_object_in_the_namespace(objects):
    assert len(manifest_files()) >= 6
    for o in objects:
        assert o.get("apiVersion") and o.get("kind") and o.get("metadata", {}).get("name"), o
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == NAMESPACE, o["metadata"]
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "PersistentVolumeClaim", "ConfigMap", "Secret", "Job", "Deployment", "Service"} <= kinds


def test_kustomization_lists_existing_files_but_never_the_example_secret():
    k = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert k["kind"] == "Kustomization" and k["namespace"] == NAMESPACE
    for name in k["resources"]:
        assert (K8S / name).is_file(), name
    assert "secret.example.yaml" not in k["resources"]


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl not installed")
def test_kustomize_builds():
    out = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(out.stdout) if d}
    assert {"Namespace", "ConfigMap", "Deployment", "Service"} <= kinds
    assert "PersistentVolumeClaim" not in kinds, "the shared volume is optional (storage.yaml)"


def test_every_container_has_an_image_and_a_memory_limit(objects):
    for name, spec in pod_specs(objects):
        for c in spec.get("initContainers", []) + spec["containers"]:
            assert c.get("image"), name
            assert c["resources"]["limits"]["memory"], name
            assert not c.get("command"), f"{name}: keep the image's CMD/args convention"
        assert spec["securityContext"]["runAsNonRoot"] is True, name


def test_one_image_everywhere(objects, values):
    image = user_deployment(values)["image"]
    expected = f"{image['repository']}:{image['tag']}"
    for name, spec in pod_specs(objects):
        for c in spec.get("initContainers", []) + spec["containers"]:
            assert c["image"] == expected, name


# --------------------------------------------------------------------------- settings and secrets


def test_config_map_sets_only_real_settings_and_all_of_them(objects):
    data = config_map(objects)
    read = settings_read_from_env()
    unknown = set(data) - read
    assert not unknown, f"not Sentinel settings (settings.py never reads them): {sorted(unknown)}"
    missing = read - set(data) - set(NOT_IN_CONFIG_MAP)
    assert not missing, f"give these settings a production value in k8s/configmap.yaml: {sorted(missing)}"
    assert all(isinstance(v, str) for v in data.values()), "ConfigMap values must be strings (quote numbers)"


def test_config_map_parses_lake_and_landing_in_buckets_and_home_on_scratch(objects, values):
    data = config_map(objects)
    settings = Settings.from_env({**data, "DATABASE_URL": "postgresql://u:p@db/sentinel"})
    mounts = {m["name"]: m["mountPath"] for m in user_deployment(values)["volumeMounts"]}
    assert settings.landing_url.startswith("s3://") and settings.lake_url.startswith("s3://")
    assert settings.home.is_relative_to(mounts[SCRATCH_VOLUME])
    assert settings.environment == "production"
    assert settings.duckdb_threads >= 1, "set DuckDB threads: in a pod it would count the node's cores"


def test_database_url_is_only_in_a_secret(objects, values):
    for o in objects:
        for path, key, value in walk(o):
            mentions = key == "DATABASE_URL" or (key == "name" and value == "DATABASE_URL")
            if mentions:
                assert o["kind"] == "Secret", f"DATABASE_URL in {o['kind']} {o['metadata']['name']} at {path}"
    for path, key, value in walk(values):
        assert key != "DATABASE_URL" and value != "DATABASE_URL", f"DATABASE_URL in values.yaml at {path}"
        assert not str(key).startswith("AWS_"), f"S3 settings in values.yaml at {path}: object-storage.yaml"
        assert key != "postgresqlPassword", "the password comes from global.postgresqlSecretName"
        assert not re.search(r"://[^/@\s]*:[^/@\s]*@", str(value)), f"credentials in values.yaml at {path}"


def test_s3_credentials_are_only_in_a_secret(objects):
    for o in objects:
        for path, key, value in walk(o):
            if key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                assert o["kind"] == "Secret", f"{key} in {o['kind']} {o['metadata']['name']} at {path}"
    s3 = by_kind(objects, "ConfigMap", S3_CONFIG)[0]["data"]
    from sentinel_pipeline.storage import AWS_VARIABLES

    assert set(s3) <= set(AWS_VARIABLES), "only the AWS SDK variables storage.py reads"
    assert set(by_kind(objects, "Secret", S3_SECRET)[0]["stringData"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_example_secrets_hold_placeholders_only(objects):
    for secret in by_kind(objects, "Secret"):
        assert "data" not in secret, "use stringData placeholders in the example"
        for key, value in secret["stringData"].items():
            assert "CHANGE_ME" in value, f"{secret['metadata']['name']}.{key} must be a placeholder"
    url = by_kind(objects, "Secret", DATABASE_SECRET)[0]["stringData"]["DATABASE_URL"]
    assert url.startswith("postgresql://")
    # The Dagster chart reads the password from its own Secret, under this key.
    pg = by_kind(objects, "Secret", "dagster-postgresql-secret")[0]
    assert pg["metadata"]["name"] == "dagster-postgresql-secret" == values_secret_name()
    assert set(pg["stringData"]) == {"postgresql-password"}


def values_secret_name() -> str:
    return yaml.safe_load(VALUES.read_text())["global"]["postgresqlSecretName"]


def test_dagster_uses_the_external_database_without_a_generated_secret(values):
    pg = values["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlHost"]
    assert values["generatePostgresqlPasswordSecret"] is False
    assert pg["postgresqlScheme"] == "postgresql+psycopg2", "SQLAlchemy 2.1 + dagster-postgres needs psycopg2"


# --------------------------------------------------------------------------- run pods = code location


def test_run_pods_get_the_code_locations_env_sources_and_volumes(values):
    dep, rl = user_deployment(values), run_launcher(values)
    assert rl["envConfigMaps"] == dep["envConfigMaps"] == [{"name": CONFIG_MAP}, {"name": S3_CONFIG}]
    assert rl["envSecrets"] == dep["envSecrets"] == [{"name": DATABASE_SECRET}, {"name": S3_SECRET}]
    assert rl["volumes"] == dep["volumes"]
    assert rl["volumeMounts"] == dep["volumeMounts"]
    assert rl["runK8sConfig"]["podSpecConfig"]["securityContext"] == dep["podSecurityContext"]
    # The anchors make the two one definition; a copy could drift.
    text = VALUES.read_text()
    for anchor in ("sentinelEnvConfigMaps", "sentinelEnvSecrets", "sentinelVolumes", "sentinelVolumeMounts"):
        assert f"&{anchor}" in text and f"*{anchor}" in text, anchor


def test_code_location_resources_never_reach_run_pods(values):
    # With includeConfigInLaunchedRuns on, the deployment's resources would override runK8sConfig's
    # (test_run_pod_built_by_dagster_k8s shows it happening).
    assert user_deployment(values)["includeConfigInLaunchedRuns"]["enabled"] is False


def test_shared_volume_is_optional_and_read_write_many(objects, values):
    pvc = by_kind(objects, "PersistentVolumeClaim", DATA_VOLUME)[0]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    k = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert "storage.yaml" not in k["resources"]
    for name, spec in [("code location", user_deployment(values)), *pod_specs(objects)]:
        assert not [v for v in spec.get("volumes", []) if "persistentVolumeClaim" in v], name


def test_other_workloads_use_the_same_env_sources_and_data_volume(objects):
    for name, spec in pod_specs(objects):
        assert spec["containers"][0]["envFrom"] == ENV_FROM, name


def launcher_context(values):
    """The container context the K8sRunLauncher builds run pods from, with the values the chart passes it."""
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import UserDefinedDagsterK8sConfig

    rl = run_launcher(values)
    run_k8s = rl["runK8sConfig"]
    return K8sContainerContext(
        image_pull_policy=rl["imagePullPolicy"],
        env_config_maps=[c["name"] for c in rl["envConfigMaps"]],
        env_secrets=[s["name"] for s in rl["envSecrets"]],
        volumes=rl["volumes"],
        volume_mounts=rl["volumeMounts"],
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict({
            "container_config": run_k8s["containerConfig"],
            "pod_spec_config": run_k8s["podSpecConfig"],
            "job_spec_config": run_k8s["jobSpecConfig"],
        }),
    )


def build_job(context, values) -> dict:
    """The Kubernetes Job dagster-k8s builds for a container context, as a plain dict."""
    import kubernetes
    from dagster_k8s.job import DagsterK8sJobConfig, construct_dagster_k8s_job

    job = construct_dagster_k8s_job(
        DagsterK8sJobConfig(job_image="sentinel:test", dagster_home="/opt/dagster/dagster_home",
                            instance_config_map="dagster-instance",
                            postgres_password_secret=values["global"]["postgresqlSecretName"]),
        ["dagster", "api", "execute_run", "{}"], "dagster-run-test",
        user_defined_k8s_config=context.run_k8s_config,
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


def test_run_pod_built_by_dagster_k8s(values):
    """Build the run Job exactly as the K8sRunLauncher does, from the values the chart passes it."""
    from dagster_k8s.container_context import K8sContainerContext

    rl, dep = run_launcher(values), user_deployment(values)
    run_k8s = rl["runK8sConfig"]
    launcher = launcher_context(values)

    def build(context: K8sContainerContext) -> dict:
        return build_job(context, values)

    job = build(launcher)
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"] == run_k8s["containerConfig"]["resources"]
    assert container["envFrom"] == ENV_FROM
    assert {m["name"]: m["mountPath"] for m in container["volumeMounts"]}.items() >= {
        m["name"]: m["mountPath"] for m in dep["volumeMounts"]}.items()
    assert {v["name"] for v in pod["volumes"]} >= {v["name"] for v in dep["volumes"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["ttlSecondsAfterFinished"] >= 3600

    # Why includeConfigInLaunchedRuns stays off: the code location's context wins over runK8sConfig.
    leaked = build(launcher.merge(K8sContainerContext(resources=dep["resources"])))
    assert leaked["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == \
        dep["resources"]["limits"]["memory"]


def test_step_pods_built_by_dagster_k8s_from_the_step_tags(objects, values):
    """With SENTINEL_EXECUTOR=k8s each step is a Job: the run launcher's pod with the step's own resources
    and DuckDB limit from its dagster-k8s/config tag (assets/steps.py), merged as k8s_job_executor does."""
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import get_user_defined_k8s_config

    from sentinel_pipeline.definitions import defs

    job_def = defs.resolve_job_def("cdr_pipeline")
    sized = {}
    for name, node in job_def.graph.node_dict.items():
        if "dagster-k8s/config" not in node.definition.tags:
            continue
        step = K8sContainerContext(run_k8s_config=get_user_defined_k8s_config(node.definition.tags))
        container = build_job(launcher_context(values).merge(step), values)["spec"]["template"]["spec"]["containers"][0]
        resources = container["resources"]
        for quantity in ("cpu", "memory"):  # the step's own; ephemeral storage stays the run pod's
            assert resources["requests"][quantity] == resources["limits"][quantity], name
        assert resources["limits"]["ephemeral-storage"] == run_launcher(values)["runK8sConfig"]["containerConfig"][
            "resources"]["limits"]["ephemeral-storage"]
        env = {e["name"]: e.get("value") for e in container["env"]}  # (others come from fields: valueFrom)
        _assert_headroom(f"step {name}", env["SENTINEL_DUCKDB_MEMORY_LIMIT"], resources["limits"]["memory"])
        assert int(env["SENTINEL_DUCKDB_THREADS"]) == float(resources["limits"]["cpu"]), name
        assert container["envFrom"] == ENV_FROM, name
        sized[name] = resources["limits"]["memory"]
    assert {"raw_cdrs", "caller_features", "sdhf_detections", "alerts"} <= set(sized)
    assert sized["raw_cdrs"] != sized["sdhf_detections"], "steps are sized each for its work"


# --------------------------------------------------------------------------- memory


def test_duckdb_units_match_duckdb():
    import duckdb

    con = duckdb.connect()
    for limit in ("4GB", "1GiB", "3500MB"):
        con.execute(f"set memory_limit = '{limit}'")
        shown = con.execute("select current_setting('memory_limit')").fetchone()[0]  # e.g. '3.7 GiB'
        number, unit = shown.split()
        assert abs(float(number) * _DUCKDB_UNITS[unit.upper()] - duckdb_bytes(limit)) < 0.06 * duckdb_bytes(limit)


def _assert_headroom(what: str, duckdb_limit: str, memory_limit: str):
    duck, pod = duckdb_bytes(duckdb_limit), k8s_bytes(memory_limit)
    assert duck <= MAX_DUCKDB_SHARE * pod and pod - duck >= MIN_HEADROOM_BYTES, (
        f"{what}: SENTINEL_DUCKDB_MEMORY_LIMIT={duckdb_limit} leaves too little of the {memory_limit} pod limit "
        f"(at most {MAX_DUCKDB_SHARE:.0%} and at least {MIN_HEADROOM_BYTES // 2**20} MiB free)")


def test_duckdb_memory_limit_is_safely_below_the_run_pod_limit(objects, values):
    rl = run_launcher(values)
    resources = rl["runK8sConfig"]["containerConfig"]["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"], "Guaranteed memory for run pods"
    assert not rl.get("envVars") and not rl.get("resources"), "one place for run pod env and resources"
    _assert_headroom("run pods", config_map(objects)["SENTINEL_DUCKDB_MEMORY_LIMIT"], resources["limits"]["memory"])
    threads = int(config_map(objects)["SENTINEL_DUCKDB_THREADS"])
    assert threads <= float(resources["limits"]["cpu"])


def test_duckdb_memory_limit_is_safely_below_the_code_server_limit(objects, values):
    dep = user_deployment(values)
    env = {e["name"]: e["value"] for e in dep.get("env", [])}
    limit = env.get("SENTINEL_DUCKDB_MEMORY_LIMIT", config_map(objects)["SENTINEL_DUCKDB_MEMORY_LIMIT"])
    _assert_headroom("code server", limit, dep["resources"]["limits"]["memory"])


def test_run_queue_and_monitoring(objects, values):
    daemon = values["dagsterDaemon"]
    assert daemon["enabled"] is True
    limit = daemon["runCoordinator"]["config"]["queuedRunCoordinator"]["maxConcurrentRuns"]
    assert limit == int(config_map(objects)["SENTINEL_MAX_CONCURRENT_RUNS"]) >= 1
    assert daemon["runMonitoring"]["enabled"] is True, "without it an OOMKilled run pod leaves the run STARTED"
    assert run_launcher(values)["failPodOnRunFailure"] is True


# --------------------------------------------------------------------------- code location and metrics


def test_code_location_serves_the_definitions_module(values):
    dep = user_deployment(values)
    assert dep["dagsterApiGrpcArgs"] == ["-m", "sentinel_pipeline.definitions"]
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert re.search(r"^USER (?!root|0\b)", dockerfile, re.MULTILINE), "non-root image"
    # The chart and the K8sRunLauncher pass `args` only: an ENTRYPOINT would be prefixed to them.
    assert not re.search(r"^ENTRYPOINT", dockerfile, re.MULTILINE)
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE)[1]
    assert "sentinel_pipeline.definitions" in cmd and f'"{dep["port"]}"' in cmd


def test_metrics_port_agrees_everywhere(objects):
    deployment = by_kind(objects, "Deployment", "sentinel-metrics")[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["sentinel", "metrics"]
    port = int(container["args"][container["args"].index("--port") + 1])
    assert [p["containerPort"] for p in container["ports"]] == [port]
    service = by_kind(objects, "Service", "sentinel-metrics")[0]
    assert service["spec"]["ports"][0]["port"] == port
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert container["livenessProbe"]["httpGet"]["port"] in ("metrics", port)


def test_migration_job_runs_sentinel_db_migrate(objects):
    job = by_kind(objects, "Job", "sentinel-migrate")[0]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["sentinel", "db", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


# --------------------------------------------------------------------------- helm (optional)


@pytest.mark.skipif(not (shutil.which("helm") and os.environ.get("SENTINEL_DAGSTER_CHART")),
                    reason="needs helm and SENTINEL_DAGSTER_CHART=<path to the dagster/dagster 1.13.27 chart>")
def test_helm_template_renders_run_launcher_config():
    out = subprocess.run(
        ["helm", "template", "dagster", os.environ["SENTINEL_DAGSTER_CHART"], "-n", NAMESPACE, "-f", str(VALUES)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert CONFIG_MAP in out.stdout and S3_SECRET in out.stdout and "postgresql+psycopg2" in out.stdout
