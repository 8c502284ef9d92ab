"""Real servers the integration tests talk to, started by the tests themselves.

``ChromaServer`` runs ``chroma run --path DIR`` (the CLI of the installed chromadb, so server and
client are the same version) on a free loopback port.

``PostgresServer`` runs a throw-away PostgreSQL cluster (the machine's own PostgreSQL 15 binaries)
in a temporary folder on a free loopback port. ``initdb`` and ``pg_ctl`` refuse to run as root,
so as root they run as the ``postgres`` user (``runuser -u postgres``), in a folder that user owns.
When no PostgreSQL is installed, ``.ci/run`` installs it (``apt-get install -y postgresql``)
before the tests; elsewhere the fixture skips with the reason.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bin() -> Path | None:
    """Folder of initdb/pg_ctl (the newest installed PostgreSQL), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if candidates:  # Debian's layout: every server binary in one folder
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found and (Path(found).parent / "pg_ctl").exists() else None


class PostgresServer:
    """A PostgreSQL cluster for one test session: ``start()``, ``dsn``, ``stop()``, ``restart()``."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="copyloop-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else os.environ.get("USER", "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(a) for a in args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[-1500:] or proc.stdout[-1500:]}")
        return proc

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def start(self) -> "PostgresServer":
        if self.as_root:
            shutil.chown(self.root, user="postgres")
        if not self.data.exists():
            self._run(self.bin / "initdb", "-D", self.data, "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-sync")
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "60", "start")
        self._wait()
        return self

    def _wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}: {self.log.read_text()[-1000:] if self.log.exists() else ''}")

    def stop(self, mode: str = "fast") -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        """A fresh database; returns its DSN."""
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, name)
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def chroma_bin() -> Path | None:
    """The ``chroma`` command of this environment's chromadb, or None."""
    beside = Path(sys.executable).parent / "chroma"
    if beside.exists():
        return beside
    found = shutil.which("chroma")
    return Path(found) if found else None


class ChromaServer:
    """``chroma run --path DIR --host 127.0.0.1 --port P``: ``start()``, ``url``, ``version()``, ``stop()``."""

    def __init__(self, exe: Path, path: Path) -> None:
        self.exe = exe
        self.path = path
        self.port = free_port()
        self.log = path.parent / f"chroma-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "ChromaServer":
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(self.exe), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log.read_text()[-1500:]}")
            try:
                self.version()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"chroma server did not answer on {self.url}: {self.log.read_text()[-1500:]}")

    def version(self) -> str:
        """The server's own version (``GET /api/v2/version``)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/version", timeout=2) as resp:  # noqa: S310 - loopback only
            return str(json.loads(resp.read().decode()))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


__all__ = ["ChromaServer", "PostgresServer", "chroma_bin", "free_port", "postgres_bin"]
