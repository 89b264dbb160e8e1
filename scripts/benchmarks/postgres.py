"""A throw-away PostgreSQL server for the benchmarks: Debian's postgresql (scripts/setup installs
it), a new cluster in a temporary folder, listening on a free loopback port only, trust auth.

    with PostgresServer() as pg:
        url = pg.create_database("fidelity")   # postgresql+psycopg://postgres@127.0.0.1:PORT/fidelity

The server runs as the `postgres` system user when started by root (initdb refuses root). The
driver, psycopg 3 (binary wheel), is installed under .cache/bench-libs for the benchmark only.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess
import tempfile
import time
from types import TracebackType
from typing import Self

from scripts.benchmarks._common import comparison_library
from tests.fakes.mosquitto import free_port

DRIVER = "psycopg[binary]==3.3.9"


def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb, or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[4]) if p.parts[4].isdigit() else 0,
    )
    return found[-1].parent if found else None


class PostgresServer:
    """A PostgreSQL cluster of its own (see the module docstring)."""

    def __init__(self) -> None:
        """Nothing runs before `start`."""
        self.port = free_port()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.bin = postgres_bin()

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]] if self.bin else list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> Self:
        """initdb, start on 127.0.0.1:port, wait until it accepts connections."""
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server (scripts/setup installs Debian's postgresql)")
        if comparison_library(DRIVER, "psycopg") is None:
            raise RuntimeError(f"could not install {DRIVER}")
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-pg-")
        root = Path(self._tmp.name)
        data = root / "data"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(data, "postgres")
        self._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._run(
            "pg_ctl", "-D", str(data), "-l", str(root / "log"), "-w", "start", "-o",
            f"-p {self.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on",
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                self._run("pg_isready", "-h", "127.0.0.1", "-p", str(self.port))
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return self

    def create_database(self, name: str) -> str:
        """A new empty database; its SQLAlchemy URL (psycopg 3)."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server and delete the cluster."""
        if self._tmp is None:
            return
        data = Path(self._tmp.name) / "data"
        try:
            self._run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        finally:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        """Start."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()
