"""Async jobs in a PostgreSQL store shared by several `ferry serve`
replicas: any replica answers for any job, queued jobs are claimed once
under a lease, a killed replica's jobs and webhooks are taken over, a
database restart costs no accepted job, and replicas starting together
migrate the schema once. The server is Debian's PostgreSQL on a loopback
port with a temporary data directory (`postgres_support`)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import requests

from certificates import make_ca
from conformance_support import FIXTURES, add_model, ferry_bin, ferry_missing_reason, kill, start_server, stop_server
from postgres_support import Postgres, postgres_missing_reason

pytestmark = pytest.mark.slow

FINISHED = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="module")
def postgres():
    reason = ferry_missing_reason() or postgres_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = Postgres(tls=True)
    yield server
    server.close()


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("pg-jobs") / "models"
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    add_model(repo, "slow", FIXTURES / "slow.onnx")
    (repo / "slow" / "config.pbtxt").write_text('name: "slow"\ninstance_group [{ count: 2 }]\n')
    return repo


class Replicas:
    def __init__(self, servers):
        self.servers = servers

    def __getitem__(self, index):
        return self.servers[index % len(self.servers)]

    def __len__(self):
        return len(self.servers)

    def stop(self):
        for server in self.servers:
            if server.process.poll() is None:
                assert stop_server(server) == 0, server.log_tail()


def start_replicas(postgres, repository, directory: Path, database: str, count: int, *extra: str, at_once=False) -> Replicas:
    def start(index):
        return start_server(
            repository, directory / f"replica-{index}.log",
            ["--job-store", postgres.url(database), "--replica-name", f"replica-{index}", "--webhook-allow-private",
             "--webhook-allow-http", *extra],
            ["mlp", "slow"], env=postgres.environment())

    if not at_once:
        return Replicas([start(index) for index in range(count)])
    results: dict[int, object] = {}
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, start(i))) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Replicas([results[index] for index in range(count)])


def mlp_body(seed: int, webhook: str | None = None) -> dict:
    data = np.random.default_rng(seed).standard_normal(64).astype(np.float32).tolist()
    body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": data}]}
    if webhook:
        body["parameters"] = {"webhook": webhook}
    return body


def slow_body(iterations: int, webhook: str | None = None) -> dict:
    body = {"inputs": [
        {"name": "iterations", "datatype": "INT64", "shape": [], "data": [iterations]},
        {"name": "x", "datatype": "FP32", "shape": [1, 64], "data": [0.01] * 64},
    ]}
    if webhook:
        body["parameters"] = {"webhook": webhook}
    return body


def submit(server, model: str, body: dict) -> requests.Response:
    return requests.post(f"{server.http_base()}/v2/models/{model}/infer", json=body, headers={"Prefer": "respond-async"}, timeout=30)


def job(server, job_id: str) -> dict:
    response = requests.get(f"{server.http_base()}/v2/jobs/{job_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def wait_finished(replicas: Replicas, job_ids: list[str], timeout_s: float, avoid: int | None = None) -> dict[str, dict]:
    """Polls every job through a replica other than `avoid` until all are finished."""
    done: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_s
    while len(done) < len(job_ids):
        for index, job_id in enumerate(job_ids):
            if job_id in done:
                continue
            server = replicas[index if avoid is None else (avoid + 1 + index % (len(replicas) - 1))]
            current = job(server, job_id)
            if current["status"] in FINISHED:
                done[job_id] = current
        assert time.monotonic() < deadline, f"{len(job_ids) - len(done)} jobs unfinished after {timeout_s} s"
        time.sleep(0.2)
    return done


def metric(server, name: str) -> float:
    text = requests.get(f"http://{server.metrics_url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_for_metric(replicas: Replicas, name: str, value: float, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(metric(server, name) != value for server in replicas.servers):
        assert time.monotonic() < deadline, [metric(server, name) for server in replicas.servers]
        time.sleep(0.2)
    return True


class WebhookReceiver:
    """Counts deliveries per job (the Ferry-Job-Id header). The first
    delivery of each job is answered 503, so every webhook is retried and
    waits, held by its replica, for its next attempt."""

    def __init__(self):
        self.deliveries: dict[str, int] = {}
        self.refused: set[str] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                document = json.loads(self.rfile.read(length))
                job_id = self.headers["Ferry-Job-Id"]
                with receiver.lock:
                    first = job_id not in receiver.refused
                    if first:
                        receiver.refused.add(job_id)
                    else:
                        receiver.deliveries[job_id] = receiver.deliveries.get(job_id, 0) + 1
                assert document["status"] in FINISHED
                self.send_response(503 if first else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_three_replicas_share_one_queue(postgres, repository, tmp_path):
    database = postgres.create_database()
    replicas = start_replicas(postgres, repository, tmp_path, database, 3)
    try:
        ids = []
        for index in range(300):
            response = submit(replicas[index], "mlp", mlp_body(index))
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        # Every job is polled through a replica other than the one that took it.
        finished = wait_finished(replicas, ids, timeout_s=120, avoid=None)
        for index, job_id in enumerate(ids):
            document = job(replicas[index + 1], job_id)
            assert document["status"] == "succeeded", document
            assert document["attempts"] == 1, f"job {job_id} ran {document['attempts']} times with no replica lost"
            expected = requests.post(f"{replicas[index + 2].http_base()}/v2/models/mlp/infer", json=mlp_body(index), timeout=30).json()
            np.testing.assert_allclose(document["response"]["outputs"][0]["data"], expected["outputs"][0]["data"], rtol=1e-6)
        assert len(finished) == 300
        runners = postgres.psql("SELECT runner, COUNT(*) FROM ferry_jobs GROUP BY runner ORDER BY runner", database)
        assert len(runners.splitlines()) >= 2, f"one replica ran every job: {runners}"
        # Each replica lists every job, and counts them alike in its metrics.
        for server in replicas.servers:
            listing = requests.get(f"{server.http_base()}/v2/jobs", params={"limit": 1000}, timeout=30).json()
            assert len(listing["jobs"]) == 300
        # The store's view, alike on every replica once each has surveyed it; and each replica's own claims.
        assert wait_for_metric(replicas, 'ferry_jobs{state="queued"}', 0)
        assert sum(metric(server, 'ferry_jobs_finished_total{state="succeeded"}') for server in replicas.servers) == 300
        assert sum(metric(server, "ferry_job_claims_total") for server in replicas.servers) == 300
        assert all(metric(server, "ferry_job_claim_duration_seconds_count") > 0 for server in replicas.servers)
        assert all(metric(server, "ferry_job_webhooks_pending") == 0 for server in replicas.servers)
        succeeded_logs = sum(server.log_path.read_text().count('"message":"job succeeded"') for server in replicas.servers)
        assert succeeded_logs == 300
    finally:
        replicas.stop()


def test_killed_replica_hands_its_jobs_and_webhooks_on(postgres, repository, tmp_path):
    database = postgres.create_database()
    receiver = WebhookReceiver()
    replicas = start_replicas(
        postgres, repository, tmp_path, database, 3, "--job-lease", "2s", "--job-concurrency", "2", "--webhook-backoff", "1s")
    try:
        ids = []
        for index in range(30):
            response = submit(replicas[index], "slow", slow_body(200_000, receiver.url))
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        # Killed while it runs jobs and holds webhooks waiting for their retry.
        deadline = time.monotonic() + 60
        held: list[str] = []
        delivering: list[str] = []
        while not (held and delivering):
            assert time.monotonic() < deadline, "replica-0 never held both a job and a webhook"
            held = postgres.psql("SELECT id FROM ferry_jobs WHERE status = 'running' AND runner = 'replica-0'", database).split()
            delivering = postgres.psql(
                "SELECT id FROM ferry_jobs WHERE webhook_status = 'pending' AND webhook_runner = 'replica-0'", database).split()
            time.sleep(0.02)
        kill(replicas[0])
        finished = wait_finished(replicas, ids, timeout_s=180, avoid=0)
        assert all(document["status"] == "succeeded" for document in finished.values()), finished
        for job_id in held:
            row = postgres.psql(f"SELECT attempts, runner FROM ferry_jobs WHERE id = '{job_id}'", database)
            attempts, runner = row.split("|")
            # Unless replica-0 finished it in the moment before the kill.
            if runner != "replica-0":
                assert int(attempts) >= 2, row
        assert metric(replicas[1], "ferry_job_lease_expiries_total") + metric(replicas[2], "ferry_job_lease_expiries_total") >= 1
        assert wait_for_deliveries(receiver, ids, timeout_s=60)
        # A delivery replica-0 made just before dying may be made again; every other one is made once.
        single = postgres.psql("SELECT id FROM ferry_jobs WHERE attempts = 1 AND runner <> 'replica-0'", database).split()
        for job_id in single:
            assert receiver.deliveries[job_id] == 1, f"job {job_id} delivered {receiver.deliveries[job_id]} times"
        for job_id in delivering:
            assert receiver.deliveries[job_id] >= 1
        delivered = postgres.psql("SELECT COUNT(*) FROM ferry_jobs WHERE webhook_status = 'delivered'", database)
        assert int(delivered) == len(ids)
    finally:
        replicas.stop()
        receiver.close()


def wait_for_deliveries(receiver: WebhookReceiver, ids: list[str], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with receiver.lock:
            if all(receiver.deliveries.get(job_id, 0) >= 1 for job_id in ids):
                return True
        time.sleep(0.1)
    missing = [job_id for job_id in ids if job_id not in receiver.deliveries]
    raise AssertionError(f"{len(missing)} webhooks never delivered: {missing[:5]}")


def test_a_running_job_keeps_its_lease(postgres, repository, tmp_path):
    """A job that runs several leases long is renewed, not taken over."""
    database = postgres.create_database()
    replicas = start_replicas(postgres, repository, tmp_path, database, 2, "--job-lease", "1s")
    try:
        response = submit(replicas[0], "slow", slow_body(3_000_000))
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        (document,) = wait_finished(replicas, [job_id], timeout_s=60).values()
        assert document["status"] == "succeeded", document
        started, finished = postgres.psql(
            f"SELECT extract(epoch from started), extract(epoch from finished) FROM ferry_jobs WHERE id = '{job_id}'", database).split("|")
        assert float(finished) - float(started) > 2, "the job was too short to outlive two leases"
        assert document["attempts"] == 1, document
        assert all(metric(server, "ferry_job_lease_expiries_total") == 0 for server in replicas.servers)
    finally:
        replicas.stop()


def test_a_restarted_replica_takes_its_jobs_back_at_once(postgres, repository, tmp_path):
    """A replica killed while running a job and started again under the same
    name requeues it at start, long before its 60 s lease would expire."""
    database = postgres.create_database()
    replicas = start_replicas(postgres, repository, tmp_path, database, 1, "--job-lease", "60s")
    response = submit(replicas[0], "slow", slow_body(600_000))
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    deadline = time.monotonic() + 30
    while postgres.psql(f"SELECT status FROM ferry_jobs WHERE id = '{job_id}'", database) != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    kill(replicas[0])
    (tmp_path / "again").mkdir()
    replicas = start_replicas(postgres, repository, tmp_path / "again", database, 1, "--job-lease", "60s")
    try:
        (document,) = wait_finished(replicas, [job_id], timeout_s=20).values()
        assert document["status"] == "succeeded" and document["attempts"] == 2, document
        assert "jobs interrupted by the last stop run again" in replicas[0].log_path.read_text()
    finally:
        replicas.stop()


def test_database_restart_under_load(postgres, repository, tmp_path):
    database = postgres.create_database()
    replicas = start_replicas(postgres, repository, tmp_path, database, 2)
    accepted: list[str] = []
    refused: list[requests.Response] = []
    stop = threading.Event()

    def load():
        index = 0
        while not stop.is_set():
            response = submit(replicas[index], "mlp", mlp_body(index))
            if response.status_code == 202:
                accepted.append(response.json()["id"])
            else:
                refused.append(response)
            index += 1
            time.sleep(0.01)

    submitter = threading.Thread(target=load)
    try:
        submitter.start()
        time.sleep(1.5)
        before = len(accepted)
        postgres.stop("fast")
        time.sleep(3)
        during_refused = len(refused)
        postgres.start()
        postgres.wait_until_accepting()
        time.sleep(4)
        stop.set()
        submitter.join()
        assert before > 0
        assert during_refused > 0, "no submission was refused while the database was down"
        for response in refused:
            assert response.status_code == 503, response.text
            assert "job store" in response.json()["error"], response.text
        assert len(accepted) > before + 5, "submissions were not accepted again after the database came back"
        finished = wait_finished(replicas, accepted, timeout_s=120)
        assert all(document["status"] == "succeeded" for document in finished.values())
        assert all(server.process.poll() is None for server in replicas.servers)
    finally:
        stop.set()
        replicas.stop()


def test_replicas_starting_together_migrate_once(postgres, repository, tmp_path):
    database = postgres.create_database()
    replicas = start_replicas(postgres, repository, tmp_path, database, 3, at_once=True)
    try:
        assert postgres.psql("SELECT version, COUNT(*) FROM ferry_schema_migrations GROUP BY version ORDER BY version", database) == "1|1"
        logs = [server.log_path.read_text() for server in replicas.servers]
        assert sum(log.count("job store schema migrated") for log in logs) == 1
    finally:
        replicas.stop()
    # A restart finds the schema current and changes nothing.
    (tmp_path / "again").mkdir()
    replicas = start_replicas(postgres, repository, tmp_path / "again", database, 1)
    try:
        assert "job store schema migrated" not in replicas[0].log_path.read_text()
    finally:
        replicas.stop()


def test_cancel_through_another_replica(postgres, repository, tmp_path):
    database = postgres.create_database()
    replicas = start_replicas(postgres, repository, tmp_path, database, 2)
    try:
        response = submit(replicas[0], "slow", slow_body(3_000_000))
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 30
        while (runner := postgres.psql(f"SELECT runner FROM ferry_jobs WHERE id = '{job_id}' AND status = 'running'", database)) == "":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        running, other = (0, 1) if runner == "replica-0" else (1, 0)
        cancelled = requests.delete(f"{replicas[other].http_base()}/v2/jobs/{job_id}", timeout=30)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        deadline = time.monotonic() + 10
        while "job cancelled through another replica" not in replicas[running].log_path.read_text():
            assert time.monotonic() < deadline, replicas[running].log_tail()
            time.sleep(0.1)
        time.sleep(1)
        document = job(replicas[running], job_id)
        assert document["status"] == "cancelled" and "response" not in document, document
    finally:
        replicas.stop()


def test_store_errors_are_clear(postgres, repository, tmp_path):
    import subprocess

    database = postgres.create_database()
    other_ca = make_ca(tmp_path, "other-ca")
    cases = [
        (f"postgres://ferry:{postgres.password}@127.0.0.1:{postgres.port}/{database}", postgres.environment(), "holds a password"),
        (postgres.url(database), {"FERRY_JOB_STORE_PASSWORD": "wrong"}, "password authentication failed"),
        (postgres.url(database), {}, "none was given"),
        (postgres.url(database, sslmode="verify-full", sslrootcert=str(FIXTURES / "mlp.onnx")), postgres.environment(), "sslrootcert"),
        (postgres.url("no_such_database"), postgres.environment(), "does not exist"),
        (postgres.url(database, sslmode="verify-full", sslrootcert=str(other_ca)), postgres.environment(), "TLS with 127.0.0.1 failed"),
    ]
    for url, environment, message in cases:
        result = subprocess.run(
            [str(ferry_bin()), "serve", str(repository), "--http-port", "0", "--grpc-port", "0", "--metrics-port", "0", "--job-store", url],
            capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **environment})
        assert result.returncode != 0, result.stderr
        assert message in result.stderr + result.stdout, (url, result.stderr[-2000:])
        assert postgres.password not in result.stderr + result.stdout


def test_tls_to_the_store(postgres, repository, tmp_path):
    """sslmode=verify-full checks the server's certificate against the
    given root and its address; the session is encrypted (pg_stat_ssl)."""
    database = postgres.create_database()
    url = postgres.url(database, sslmode="verify-full", sslrootcert=str(postgres.ca))
    server = start_server(
        repository, tmp_path / "ferry.log", ["--job-store", url, "--replica-name", "tls-replica"], ["mlp"], env=postgres.environment())
    try:
        response = submit(server, "mlp", mlp_body(1))
        assert response.status_code == 202, response.text
        assert wait_finished(Replicas([server]), [response.json()["id"]], timeout_s=30)
        encrypted = postgres.psql(
            "SELECT DISTINCT ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE application_name = 'ferry tls-replica'")
        assert encrypted == "t", encrypted
    finally:
        assert stop_server(server) == 0


@pytest.mark.parametrize("user, method", [("ferry_md5", "md5"), ("ferry_plain", "password")])
def test_older_password_methods(postgres, repository, tmp_path, user, method):
    """Servers configured for MD5 or cleartext passwords (pg_hba.conf) work too."""
    encryption = "md5" if method == "md5" else "scram-sha-256"
    postgres.psql(
        f"SET password_encryption = '{encryption}'; "
        f"CREATE ROLE {user} LOGIN PASSWORD '{postgres.password}'")
    postgres.psql(f"CREATE DATABASE {user} OWNER {user}")
    url = f"postgres://{user}@127.0.0.1:{postgres.port}/{user}?sslmode=disable"
    server = start_server(repository, tmp_path / "ferry.log", ["--job-store", url], ["mlp"], env=postgres.environment())
    try:
        response = submit(server, "mlp", mlp_body(2))
        assert response.status_code == 202, response.text
        (document,) = wait_finished(Replicas([server]), [response.json()["id"]], timeout_s=30).values()
        assert document["status"] == "succeeded"
    finally:
        assert stop_server(server) == 0
