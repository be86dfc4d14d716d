"""A real PostgreSQL server for the job store tests: Debian's binaries, a
temporary data directory, a loopback port, password (SCRAM-SHA-256)
authentication for the user `ferry`. As root, the server runs as the
`postgres` user (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from certificates import make_ca, make_cert
from conformance_support import free_ports

USER = "ferry"


def postgres_bin() -> Path | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def postgres_missing_reason() -> str | None:
    if postgres_bin() is None:
        return "PostgreSQL is not installed (scripts/install-system-packages --tests installs it)"
    if shutil.which("psql") is None:
        return "psql is not installed"
    return None


class Postgres:
    """`durable`: fsync on, as in production (benchmarks); tests turn it off
    for speed. `tls`: the server also offers TLS, with a certificate for
    127.0.0.1 signed by `self.ca` (clients choose with sslmode)."""

    def __init__(self, durable: bool = False, tls: bool = False) -> None:
        self.durable = durable
        self.ca: Path | None = None
        self.bin = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="ferry-pg-"))
        self.data = self.root / "data"
        self.port = free_ports(1)[0]
        self.password = secrets.token_hex(12)
        self.as_root = os.geteuid() == 0
        password_file = self.root / "password"
        password_file.write_text(self.password)
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(password_file, "postgres")
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, f"--pwfile={password_file}",
             "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"])
        password_file.unlink()
        # Two more users for the older password methods (the store's user authenticates with SCRAM).
        hba = self.data / "pg_hba.conf"
        hba.write_text(
            "host all ferry_md5 127.0.0.1/32 md5\nhost all ferry_plain 127.0.0.1/32 password\n" + hba.read_text())
        if tls:
            certificates = self.root / "certificates"
            certificates.mkdir()
            self.ca = make_ca(certificates, "ca")
            cert, key = make_cert(certificates, "ca", "server")
            for path in (cert, key):
                shutil.copy(path, self.data / path.name)
                if self.as_root:
                    shutil.chown(self.data / path.name, "postgres")
                os.chmod(self.data / path.name, 0o600)
            os.chmod(certificates, 0o755)
            os.chmod(self.ca, 0o644)
        self.start()

    def _run(self, command: list[str], check: bool = True) -> subprocess.CompletedProcess:
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync={'on' if self.durable else 'off'} -c max_connections=200"
        if self.ca is not None:
            options += " -c ssl=on -c ssl_cert_file=server.pem -c ssl_key_file=server.key"
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], check=False)

    def url(self, database: str, **parameters: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"sslmode": "disable", **parameters}.items())
        return f"postgres://{USER}@127.0.0.1:{self.port}/{database}?{query}"

    def environment(self) -> dict[str, str]:
        return {"FERRY_JOB_STORE_PASSWORD": self.password}

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PGPASSWORD": self.password})
        if result.returncode != 0:
            raise AssertionError(f"psql failed: {result.stderr}")
        return result.stdout.strip()

    def create_database(self, prefix: str = "jobs") -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        self.psql(f"CREATE DATABASE {name}")
        return name

    def wait_until_accepting(self, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                self.psql("SELECT 1")
                return
            except AssertionError:
                time.sleep(0.2)
        raise AssertionError("PostgreSQL did not come back")

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
