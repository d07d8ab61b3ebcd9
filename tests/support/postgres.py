"""A throwaway PostgreSQL server for tests, from Debian's binaries (``make system-deps`` installs them).

``PostgresServer`` runs initdb + postgres in a temporary directory: loopback
only, a free port, the socket in that directory, trust authentication. initdb
refuses to run as root, so as root the server runs as the ``postgres``
system user with the directory handed to it.

Fixtures (registered in ``tests/conftest.py``):

- ``pg_server`` (session): the running server, skipped with a reason when the binaries are missing;
- ``pg_url``: a URL to a fresh, empty database for this test (CREATE DATABASE per test is fast);
- ``incident_db``: parametrized over ``sqlite`` and ``postgresql``: a SQLite file path or a fresh URL,
  for tests that take the incident database's target.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port

SKIP_REASON = "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): run `make system-deps`"


def find_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="fleetwatch-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "postgres.log"
        self._demote: Callable[[], None] | None = None
        self.user = "postgres"
        if os.getuid() == 0:
            pw = pwd.getpwnam("postgres")
            uid, gid = pw.pw_uid, pw.pw_gid
            os.chown(self.dir, uid, gid)
            self.dir.chmod(0o755)

            def demote() -> None:
                os.setgid(gid)
                os.setuid(uid)

            self._demote = demote
        else:
            self.user = pwd.getpwuid(os.getuid()).pw_name

    def _run(self, *args: str) -> None:
        subprocess.run(
            args,
            check=True,
            capture_output=True,
            preexec_fn=self._demote,  # drops root (initdb refuses it); no threads yet
            cwd=self.dir,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        logf = self.log.open("wb")
        self.proc = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=logf,
            stderr=subprocess.STDOUT,
            preexec_fn=self._demote,  # see _run
            cwd=self.dir,
        )
        deadline = time.monotonic() + 30
        import psycopg

        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log.read_text()[-2000:]}")
            try:
                psycopg.connect(self.url("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown: SIGTERM would wait for clients to leave
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        pytest.skip(SKIP_REASON)
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    return pg_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def incident_db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the incident store lives for this test: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "fleetwatch.db"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()
