"""Where Sentinel's PostgreSQL is, and the embedded server used when none is configured.

``DATABASE_URL`` wins when it is set. Otherwise Sentinel uses an embedded PostgreSQL 16 (the ``pgserver``
package) whose data directory is ``SENTINEL_HOME/postgres``; it listens only on a Unix socket inside that
directory, so its URL is known without starting anything:

    postgresql://postgres:@/postgres?host=<SENTINEL_HOME>/postgres

Computing a URL never starts a server (Dagster code servers call it at import time); ``start_embedded``
does, and the server keeps running after the process that started it exits until ``stop_embedded``
(``sentinel db stop``).

Dagster's own storage (runs, event log, schedules) lives in the same database, reached through
SQLAlchemy with the psycopg2 driver (``dagster_storage_url``); ``prepare_environment`` exports what
``dagster.yaml`` reads.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg

from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

EMBEDDED_USER = "postgres"
EMBEDDED_DATABASE = "postgres"
SOCKET_NAME = ".s.PGSQL.5432"
# sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107


# --------------------------------------------------------------------------- URLs


def _datadir(settings: Settings) -> Path:
    """The embedded server's data directory, absolute and with symlinks resolved (as pgserver sees it)."""
    return settings.embedded_database_dir.expanduser().resolve()


def embedded_url(settings: Settings) -> str:
    """The libpq URL of the embedded server (whether or not it is running)."""
    datadir = _datadir(settings)
    return f"postgresql://{EMBEDDED_USER}:@/{EMBEDDED_DATABASE}?host={quote(str(datadir), safe='/')}"


def database_url(settings: Settings) -> str:
    """``DATABASE_URL`` if set, else the embedded server's URL. Starts nothing."""
    return settings.database_url or embedded_url(settings)


def redacted_url(settings: Settings) -> str:
    """The database URL with its password replaced by ***: safe to print and to show in the UI."""
    url = database_url(settings)
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def uses_embedded(settings: Settings) -> bool:
    return not settings.database_url


def dagster_storage_url(settings: Settings) -> str:
    """The same database as a SQLAlchemy URL for dagster-postgres.

    SQLAlchemy 2.1 maps ``postgresql://`` to psycopg 3, with which dagster-postgres fails; the psycopg2
    scheme works. A socket directory stays in the ``?host=`` query, which SQLAlchemy's psycopg2 dialect
    passes through to libpq. A key=value conninfo string is converted to a URL first.
    """
    return _with_scheme(database_url(settings), "postgresql+psycopg2")


def _with_scheme(url: str, scheme: str) -> str:
    if "://" not in url:
        url = _conninfo_to_url(url)
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") and not parts.scheme.startswith("postgresql+"):
        raise SentinelError(f"DATABASE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
    return urlunsplit((scheme,) + tuple(parts[1:]))


def url_with_database(url: str, dbname: str) -> str:
    """The same server and credentials as ``url`` (a URL or a conninfo string), another database."""
    if "://" not in url:
        return psycopg.conninfo.make_conninfo(url, dbname=dbname)
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(dbname, safe="")))


def _conninfo_to_url(conninfo: str) -> str:
    """Turn ``host=/x dbname=y user=z`` into ``postgresql://z@/y?host=/x``."""
    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise SentinelError(f"DATABASE_URL is neither a URL nor a valid conninfo string: {exc}") from None
    user = quote(str(params.pop("user", "")), safe="")
    password = params.pop("password", None)
    host = str(params.pop("host", ""))
    port = params.pop("port", None)
    dbname = quote(str(params.pop("dbname", "")), safe="")
    userinfo = user + (":" + quote(str(password), safe="") if password is not None else "")
    netloc = (userinfo + "@" if userinfo else "")
    if host.startswith("/"):
        params["host"] = host
    else:
        netloc += host + (f":{port}" if port else "")
        port = None
    if port:
        params["port"] = port
    query = "&".join(f"{k}={quote(str(v), safe='/')}" for k, v in params.items())
    return urlunsplit(("postgresql", netloc, "/" + dbname, query, ""))


# --------------------------------------------------------------------------- connections


def connect(settings: Settings, **kw) -> psycopg.Connection:
    """A psycopg 3 connection to the configured database (keyword arguments go to ``psycopg.connect``)."""
    url = database_url(settings)
    try:
        return psycopg.connect(url, **kw)
    except psycopg.OperationalError as exc:
        if uses_embedded(settings) and not embedded_running(settings):
            raise SentinelError(
                "the embedded PostgreSQL is not running: start it with `sentinel db start` "
                "(or set DATABASE_URL to use another server)"
            ) from exc
        raise


# --------------------------------------------------------------------------- embedded server


def _check_socket_path(settings: Settings) -> None:
    socket_path = _datadir(settings) / SOCKET_NAME
    length = len(os.fsencode(str(socket_path)))
    if length > MAX_SOCKET_PATH_BYTES:
        raise SentinelError(
            f"SENTINEL_HOME is too deep for the embedded PostgreSQL: its Unix socket would be {socket_path} "
            f"({length} bytes; the limit is {MAX_SOCKET_PATH_BYTES}). Set SENTINEL_HOME to a shorter path "
            "(e.g. ~/.sentinel) or set DATABASE_URL to use another server."
        )


def _import_pgserver():
    # pgserver keeps a lock file in the user's runtime dir; without XDG_RUNTIME_DIR platformdirs warns and
    # falls back to /tmp/runtime-<uid>. Name that fallback explicitly (mode 0700 as the spec asks).
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime = Path(f"/tmp/runtime-{os.getuid()}")
        runtime.mkdir(mode=0o700, exist_ok=True)
        if runtime.stat().st_uid == os.getuid():
            runtime.chmod(0o700)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    import pgserver

    # pgserver logs every pg_ctl command line and its output at INFO; keep that out of `sentinel db` output.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, logging.getLogger().getEffectiveLevel()))
    return pgserver


def _postmaster(settings: Settings):
    """The embedded server's postmaster.pid facts, or None if it is not running."""
    datadir = _datadir(settings)
    pidfile = datadir / "postmaster.pid"
    try:
        lines = pidfile.read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    if len(lines) < 8:  # being written
        return None
    try:
        pid = int(lines[0])
    except ValueError:
        return None
    import psutil

    try:
        proc = psutil.Process(pid)
        if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
            return None
    except psutil.NoSuchProcess:
        return None
    return {"pid": pid, "socket_dir": lines[4].strip(), "status": lines[7].strip()}


def embedded_running(settings: Settings) -> bool:
    """Whether the embedded server under SENTINEL_HOME/postgres is up and accepting connections."""
    info = _postmaster(settings)
    return info is not None and info["status"] == "ready"


def start_embedded(settings: Settings) -> str:
    """Start the embedded server if it is not running (initialising its data directory the first time).

    Idempotent; returns its URL. The server outlives this process: stop it with ``stop_embedded``.
    """
    datadir = _datadir(settings)
    if embedded_running(settings):
        return embedded_url(settings)
    _check_socket_path(settings)
    datadir.parent.mkdir(parents=True, exist_ok=True)
    pgserver = _import_pgserver()
    log.info("starting the embedded PostgreSQL in %s", datadir)
    try:
        server = pgserver.PostgresServer._instances.get(datadir)
        if server is None:
            server = pgserver.get_server(datadir, cleanup_mode=None)
        else:  # this process started it before and someone stopped it since
            with server._lock:
                server.ensure_postgres_running()
    except Exception as exc:  # pgserver raises CalledProcessError/TimeoutExpired/AssertionError
        logfile = datadir / "log"
        tail = ""
        if logfile.exists():
            tail = "\n" + "\n".join(logfile.read_text(errors="replace").splitlines()[-15:])
        raise SentinelError(f"could not start the embedded PostgreSQL in {datadir}: {exc}{tail}") from exc
    info = server.get_postmaster_info()
    if info.socket_dir is None or Path(info.socket_dir) != datadir:
        # Only possible for a server someone else started on this data dir with other options.
        raise SentinelError(f"the PostgreSQL in {datadir} does not listen in its data directory ({info})")
    return embedded_url(settings)


def stop_embedded(settings: Settings, timeout: int = 60) -> bool:
    """Stop the embedded server (fast shutdown). Returns False if it was not running."""
    datadir = _datadir(settings)
    if _postmaster(settings) is None:
        return False
    pgserver = _import_pgserver()
    user = "pgserver" if os.geteuid() == 0 else None
    log.info("stopping the embedded PostgreSQL in %s", datadir)
    import subprocess

    try:
        pgserver.pg_ctl(["-w", "-t", str(timeout), "-m", "fast", "stop"], pgdata=datadir, user=user)
    except subprocess.CalledProcessError as exc:
        if _postmaster(settings) is not None:
            raise SentinelError(f"could not stop the embedded PostgreSQL in {datadir}: {exc}") from exc
    return True


# --------------------------------------------------------------------------- Dagster instance

def prepare_environment(settings: Settings) -> dict[str, str]:
    """Export what the Dagster instance needs; call before Dagster loads its instance.

    Sets ``DAGSTER_HOME`` (if unset: the project root, where dagster.yaml lives),
    ``SENTINEL_DAGSTER_PG_URL`` (``dagster_storage_url``), ``SENTINEL_DAGSTER_ARTIFACTS``
    (SENTINEL_HOME/dagster, created; compute logs go under it too), ``DAGSTER_EVENT_BATCH_SIZE``
    (``Settings.dagster_event_batch_size``) and ``SENTINEL_MAX_CONCURRENT_RUNS`` (with its default, for
    dagster.yaml's run queue). Returns the variables it set.
    Starts no server. Without a dagster.yaml in DAGSTER_HOME, Dagster would quietly keep its runs in
    throw-away SQLite files, so that is an error here.
    """
    artifacts = settings.dagster_artifacts_dir
    artifacts.mkdir(parents=True, exist_ok=True)
    values = {
        "DAGSTER_HOME": os.environ.get("DAGSTER_HOME") or str(PROJECT_ROOT),
        "SENTINEL_DAGSTER_PG_URL": dagster_storage_url(settings),
        "SENTINEL_DAGSTER_ARTIFACTS": str(artifacts),
        # Dagster writes a run's events one by one unless this is set, each over a new PostgreSQL connection
        # (dagster-postgres uses NullPool outside the webserver); batched, a week of hourly partitions
        # costs a quarter less (docs/benchmarks.md).
        "DAGSTER_EVENT_BATCH_SIZE": str(settings.dagster_event_batch_size),
        # dagster.yaml's run queue limit (QueuedRunCoordinator max_concurrent_runs) reads it.
        "SENTINEL_MAX_CONCURRENT_RUNS": str(settings.max_concurrent_runs),
    }
    if not (Path(values["DAGSTER_HOME"]) / "dagster.yaml").is_file():
        raise SentinelError(
            f"no dagster.yaml in DAGSTER_HOME={values['DAGSTER_HOME']}: point DAGSTER_HOME at a directory "
            f"holding one (the repository's is at {PROJECT_ROOT / 'dagster.yaml'})"
        )
    os.environ.update(values)
    return values
