# syntax=docker/dockerfile:1
# Sentinel user-code image: the Dagster code location (`dagster api grpc`), the run pods the
# K8sRunLauncher starts from it, the `sentinel db migrate` Job and the `sentinel metrics` exporter.
# Build and push: see docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    SENTINEL_HOME=/var/lib/sentinel

WORKDIR /app
RUN pip install uv==0.13.9

# The locked dependencies first (uv.lock, exactly the set CI tests), so that a code change does not
# reinstall them.
COPY pyproject.toml uv.lock /app/
RUN uv sync --frozen --no-install-project --no-cache

# Then the project itself. Editable on purpose: Sentinel finds migrations/, reference/ and dagster.yaml
# next to its package (settings.PROJECT_ROOT), so the tree must stay at /app rather than in site-packages.
COPY . /app
RUN uv sync --frozen --no-cache \
    && python -c "import sentinel_pipeline.settings as s; assert (s.PROJECT_ROOT / 'migrations').is_dir(), s.PROJECT_ROOT"

# Non-root. /app stays root-owned and read-only to the process; SENTINEL_HOME (DuckDB spill, Dagster
# artefacts) is the only place it writes besides the landing/lake volume.
RUN groupadd --system --gid 10001 sentinel \
    && useradd --system --uid 10001 --gid sentinel --home-dir /var/lib/sentinel --shell /usr/sbin/nologin sentinel \
    && mkdir -p /var/lib/sentinel /data/landing /data/lake \
    && chown -R sentinel:sentinel /var/lib/sentinel /data
USER 10001:10001

EXPOSE 3030 9108

# CMD, not ENTRYPOINT: the Dagster Helm chart and the K8sRunLauncher start their containers with
# `args` only (`dagster api grpc ...`, `dagster api execute_run ...`); an ENTRYPOINT would be prefixed
# to those and break every run pod.
CMD ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", "3030", "-m", "sentinel_pipeline.definitions"]
