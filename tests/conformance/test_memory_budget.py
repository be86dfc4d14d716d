"""`--model-memory-budget`: models load on their first request, idle ones are
unloaded least recently used first to make room, never one with a request in
flight or a pinned one, and the server's memory stays within the budget plus
its own footprint. Also: memory that comes back after unloads and reloads.

The models here are written by `onnx_writer` with a float32 weight of a
chosen size, so what each takes is known to within ONNX Runtime's overhead;
the budget is set from sizes the server itself measured."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient

from conformance_support import FIXTURES, add_model, ferry_missing_reason, start_server, stop_server
from onnx_writer import matmul_model

pytestmark = pytest.mark.slow

MB = 1 << 20
# 1024 × 8192 float32: 32 MiB of weight per model.
ROWS, COLUMNS = 1024, 8192
BIG = ["alpha", "bravo", "charlie"]


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    reason = ferry_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    repo = tmp_path_factory.mktemp("budget") / "models"
    for seed, name in enumerate(BIG):
        (repo / name / "1").mkdir(parents=True)
        (repo / name / "1" / "model.onnx").write_bytes(matmul_model(ROWS, COLUMNS, seed=seed))
        # One instance: the model's memory is one copy of its weight.
        (repo / name / "config.pbtxt").write_text(f'name: "{name}"\nmax_batch_size: 4\ninstance_group [{{ count: 1 }}]\n')
    add_model(repo, "slow", FIXTURES / "slow.onnx")
    (repo / "slow" / "config.pbtxt").write_text('name: "slow"\ninstance_group [{ count: 1 }]\n')
    return repo


def resident_bytes(server) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def infer_big(server, name: str) -> None:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, ROWS], "data": [0.25] * ROWS}]}
    response = requests.post(f"{server.http_base()}/v2/models/{name}/infer", json=body, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["shape"] == [1, COLUMNS]


def infer_slow(server, iterations: int) -> requests.Response:
    body = {"inputs": [
        {"name": "iterations", "datatype": "INT64", "shape": [], "data": [iterations]},
        {"name": "x", "datatype": "FP32", "shape": [1, 64], "data": [1.0] * 64},
    ]}
    return requests.post(f"{server.http_base()}/v2/models/slow/infer", json=body, timeout=120)


def ready_models(server) -> set[str]:
    index = requests.post(f"{server.http_base()}/v2/repository/index", json={}, timeout=10).json()
    return {entry["name"] for entry in index if entry.get("state") == "READY"}


def metric(server, name: str, label: str = "") -> float:
    text = requests.get(f"http://{server.metrics_url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + ("{" + label if label else "")) and (label or line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def measured_size(server, name: str) -> int:
    stats = requests.get(f"{server.http_base()}/v2/models/{name}/stats", timeout=10).json()["model_stats"]
    return stats[0]["memory_usage"][0]["byte_size"]


@pytest.fixture(scope="module")
def sizes(repository, tmp_path_factory) -> dict[str, int]:
    """What the server measures for each model when nothing has to make room:
    the first load in a process also pays ONNX Runtime's one-time set-up."""
    log = tmp_path_factory.mktemp("sizes") / "ferry.log"
    server = start_server(repository, log, ["--model-memory-budget", "4GiB"], [])
    try:
        infer_slow(server, 1)
        for name in BIG:
            infer_big(server, name)
        measured = {name: measured_size(server, name) for name in ["slow", *BIG]}
    finally:
        assert stop_server(server) == 0
    for name in BIG[1:]:
        # The weight dominates: each big model measures about its 32 MiB.
        assert 30 * MB < measured[name] < 48 * MB, measured
    return measured


def budget_for_two(sizes: dict[str, int]) -> int:
    big = max(sizes[name] for name in BIG[1:])
    # Two big models fit with room for the first load's one-time set-up (~8-11 MB) and a few MB of
    # measurement noise, or two and the small one; three big ones are 12 MB too many.
    return 2 * big + 20 * MB


def test_round_robin_over_three_models_in_a_budget_for_two_always_evicts_the_least_recently_used(
        repository, sizes, tmp_path):
    budget = budget_for_two(sizes)
    server = start_server(repository, tmp_path / "ferry.log", ["--model-memory-budget", str(budget)], [])
    try:
        # Nothing loads before it is asked for; ferry's own footprint is what it holds now.
        assert ready_models(server) == set()
        footprint = resident_bytes(server)
        recent: list[str] = []
        highest = 0
        sequence = BIG * 3 + ["alpha", "bravo", "alpha", "charlie", "alpha", "bravo"]
        for name in sequence:
            infer_big(server, name)
            if name in recent:
                recent.remove(name)
            recent.append(name)
            expected = set(recent[-2:])
            assert ready_models(server) == expected, (name, recent)
            # Each load measures its weight (32 MiB; RSS deltas move by a few MB as freed pages are
            # reused), also right after another model's memory was released.
            assert measured_size(server, name) > 24 * MB, (name, measured_size(server, name))
            highest = max(highest, resident_bytes(server))
            # Models unloaded to make room do not make the server unready.
            assert requests.get(f"{server.http_base()}/v2/health/ready", timeout=10).status_code == 200
        loads = sum(metric(server, "ferry_model_loads_total", f'model="{name}"') for name in BIG)
        evictions = sum(metric(server, "ferry_model_evictions_total", f'model="{name}"') for name in BIG)
        used = metric(server, "ferry_model_memory_used_bytes")
        assert metric(server, "ferry_model_memory_budget_bytes") == budget
    finally:
        assert stop_server(server) == 0
    # Loads: every request that found its model unloaded; each but the first two evicted one.
    simulated: list[str] = []
    expected_loads = 0
    for name in sequence:
        if name not in simulated[-2:]:
            expected_loads += 1
        if name in simulated:
            simulated.remove(name)
        simulated.append(name)
    assert loads == expected_loads and evictions == expected_loads - 2, (loads, evictions)
    assert 0 < used <= budget
    assert highest <= footprint + budget, f"RSS peaked at {highest / MB:.1f} MB; footprint {footprint / MB:.1f} MB + budget {budget / MB:.1f} MB"


def test_a_model_with_a_request_in_flight_is_never_unloaded(repository, sizes, tmp_path):
    budget = budget_for_two(sizes)
    server = start_server(repository, tmp_path / "ferry.log", ["--model-memory-budget", str(budget)], [])
    try:
        infer_slow(server, 1)  # slow loads first: it is the least recently used from here on
        result: dict[str, requests.Response] = {}
        running = threading.Thread(target=lambda: result.setdefault("slow", infer_slow(server, 400_000)))
        running.start()
        assert wait_until(lambda: metric(server, "ferry_inference_pending_request_count", 'model="slow"') >= 1)
        for name in BIG:
            infer_big(server, name)
        still_running = running.is_alive()
        loaded = ready_models(server)
        running.join(timeout=120)
        assert still_running, "the slow request ended before the third big model loaded; give it more iterations"
        assert result["slow"].status_code == 200, result["slow"].text
        # charlie needed room: alpha went, the busy (and older) slow stayed.
        assert loaded == {"slow", "bravo", "charlie"}
        assert metric(server, "ferry_model_evictions_total", 'model="slow"') == 0
    finally:
        assert stop_server(server) == 0


def test_a_pinned_model_loads_at_start_and_is_never_unloaded(repository, sizes, tmp_path):
    budget = budget_for_two(sizes)
    server = start_server(
        repository, tmp_path / "ferry.log", ["--model-memory-budget", str(budget), "--pin-model", "alpha"], ["alpha"])
    try:
        assert ready_models(server) == {"alpha"}
        for name in ["bravo", "charlie", "bravo", "alpha", "charlie"]:
            infer_big(server, name)
            assert "alpha" in ready_models(server)
        assert ready_models(server) == {"alpha", "charlie"}
        assert metric(server, "ferry_model_evictions_total", 'model="alpha"') == 0
    finally:
        assert stop_server(server) == 0


def test_a_model_larger_than_the_budget_is_refused_with_the_reason(repository, sizes, tmp_path):
    budget = sizes["bravo"] // 2
    server = start_server(repository, tmp_path / "ferry.log", ["--model-memory-budget", str(budget)], [])
    try:
        body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, ROWS], "data": [0.25] * ROWS}]}
        response = requests.post(f"{server.http_base()}/v2/models/bravo/infer", json=body, timeout=60)
        assert response.status_code == 503, response.text
        assert "memory budget" in response.json()["error"], response.text
        assert infer_slow(server, 1).status_code == 200
    finally:
        assert stop_server(server) == 0


def wait_until(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_memory_comes_back_after_unloads_and_reloads(tmp_path):
    """20 unload/load cycles, then 20 reloads of a changed file, of a model
    with a 4 MiB weight: RSS returns to within 10% of its level after the
    first load (it grew by 50 MB over the same cycles before the fix)."""
    reason = ferry_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    repo = tmp_path / "models"
    model = repo / "weighted" / "1" / "model.onnx"
    model.parent.mkdir(parents=True)
    model.write_bytes(matmul_model(1024, 1024, seed=0))
    server = start_server(repo, tmp_path / "ferry.log", ["--model-control-mode", "explicit", "--load-model", "weighted"],
                          ["weighted"])
    base = server.http_base()
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [4, 1024], "data": [0.5] * 4096}]}

    def cycle(reload_changed: int | None = None) -> None:
        if reload_changed is None:
            assert requests.post(f"{base}/v2/repository/models/weighted/unload", timeout=30).status_code == 200
        else:
            model.write_bytes(matmul_model(1024, 1024, seed=reload_changed))
        assert requests.post(f"{base}/v2/repository/models/weighted/load", timeout=30).status_code == 200
        assert requests.post(f"{base}/v2/models/weighted/infer", json=body, timeout=30).status_code == 200

    try:
        assert requests.post(f"{base}/v2/models/weighted/infer", json=body, timeout=30).status_code == 200
        first = resident_bytes(server)
        for _ in range(20):
            cycle()
        after_unloads = resident_bytes(server)
        for seed in range(1, 21):
            cycle(reload_changed=seed)
        # The last retired version is released once its requests are done.
        time.sleep(0.5)
        after_reloads = resident_bytes(server)
    finally:
        assert stop_server(server) == 0
    assert after_unloads <= first * 1.10, f"{first / MB:.1f} MB after the first load, {after_unloads / MB:.1f} MB after 20 cycles"
    assert after_reloads <= first * 1.10, f"{first / MB:.1f} MB after the first load, {after_reloads / MB:.1f} MB after 20 reloads"


def test_grpc_requests_and_metadata_load_a_model_on_demand(repository, sizes, tmp_path):
    budget = budget_for_two(sizes)
    server = start_server(repository, tmp_path / "ferry.log", ["--model-memory-budget", str(budget)], [])
    client = grpcclient.InferenceServerClient(server.grpc_url)
    try:
        # perf_analyzer and tritonclient read metadata first: it waits for the load as a request does.
        metadata = client.get_model_metadata("alpha")
        assert [output.name for output in metadata.outputs] == ["y"]
        assert ready_models(server) == {"alpha"}
        inputs = [grpcclient.InferInput("x", [1, ROWS], "FP32")]
        inputs[0].set_data_from_numpy(np.full((1, ROWS), 0.25, dtype=np.float32))
        for name in ["bravo", "charlie", "alpha"]:
            assert client.infer(name, inputs).as_numpy("y").shape == (1, COLUMNS)
        loaded = ready_models(server)
        assert loaded == {"charlie", "alpha"}, (loaded, budget, sizes, server.log_tail())
    finally:
        client.close()
        assert stop_server(server) == 0


def test_a_request_waits_for_a_load_up_to_its_timeout(repository, sizes, tmp_path):
    server = start_server(repository, tmp_path / "ferry.log", ["--model-memory-budget", str(budget_for_two(sizes))], [])
    try:
        body = {"parameters": {"timeout": 1000},
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, ROWS], "data": [0.25] * ROWS}]}
        response = requests.post(f"{server.http_base()}/v2/models/alpha/infer", json=body, timeout=60)
        # 1 ms is less than loading 32 MiB of weights takes: 504, and the load goes on.
        assert response.status_code == 504 and "did not load within" in response.json()["error"], response.text
        assert wait_until(lambda: "alpha" in ready_models(server))
        body["parameters"]["timeout"] = 10_000_000
        assert requests.post(f"{server.http_base()}/v2/models/alpha/infer", json=body, timeout=60).status_code == 200
    finally:
        assert stop_server(server) == 0
