"""Triton's `model_warmup` in config.pbtxt: the samples run on every instance
before the version is READY, their time is in the statistics, and a sample
that does not fit the model leaves it UNAVAILABLE with the reason while the
other models serve."""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path

import pytest
import requests

from conformance_support import FIXTURES, add_model, ferry_missing_reason, start_server, stop_server

pytestmark = pytest.mark.slow

SLOW_WARMUP = """
name: "slow"
instance_group [{ count: 2 }]
model_warmup [{
  name: "long loop"
  batch_size: 0
  inputs { key: "iterations" value: { data_type: TYPE_INT64 dims: [] input_data_file: "iterations.bin" } }
  inputs { key: "x" value: { data_type: TYPE_FP32 dims: [1, 64] random_data: true } }
  count: 2
}]
"""

MLP_WARMUP = """
name: "mlp"
max_batch_size: 8
instance_group [{ count: 2 }]
model_warmup [{
  name: "zeros"
  batch_size: 4
  inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] zero_data: true } }
  count: 3
}, {
  name: "random"
  batch_size: 8
  inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] random_data: true } }
}]
"""


@pytest.fixture()
def repo(tmp_path) -> Path:
    reason = ferry_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    repo = tmp_path / "models"
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    add_model(repo, "slow", FIXTURES / "slow.onnx")
    return repo


def state(base: str, name: str) -> dict:
    index = requests.post(f"{base}/v2/repository/index", json={}, timeout=10).json()
    return next((entry for entry in index if entry["name"] == name), {})


def warmup_stats(base: str, name: str) -> dict:
    return requests.get(f"{base}/v2/models/{name}/stats", timeout=10).json()["model_stats"][0]["warmup_stats"]


def test_a_model_is_not_ready_until_its_warmup_ran_on_every_instance(repo, tmp_path):
    (repo / "slow" / "config.pbtxt").write_text(SLOW_WARMUP)
    (repo / "slow" / "warmup").mkdir()
    (repo / "slow" / "warmup" / "iterations.bin").write_bytes(struct.pack("<q", 150_000))
    server = start_server(repo, tmp_path / "ferry.log", ["--model-control-mode", "explicit", "--load-model", "mlp"], ["mlp"])
    base = server.http_base()
    try:
        result = {}
        started = time.monotonic()
        loading = threading.Thread(target=lambda: result.setdefault(
            "load", requests.post(f"{base}/v2/repository/models/slow/load", timeout=120)))
        loading.start()
        seen_loading = []
        while loading.is_alive():
            ready = requests.get(f"{base}/v2/models/slow/ready", timeout=10).status_code
            seen_loading.append((ready, state(base, "slow").get("state")))
            time.sleep(0.02)
        took = time.monotonic() - started
        assert result["load"].status_code == 200, result["load"].text
        # Observed while the warmup ran: not ready, LOADING.
        assert any(ready != 200 and current == "LOADING" for ready, current in seen_loading), seen_loading
        assert all(ready != 200 for ready, _ in seen_loading[:-1])
        assert requests.get(f"{base}/v2/models/slow/ready", timeout=10).status_code == 200
        stats = warmup_stats(base, "slow")
        # count 2 on each of the 2 instances, and the load waited for them.
        assert int(stats["count"]) == 4
        assert 0 < int(stats["ns"]) / 1e9 <= took
        config = requests.get(f"{base}/v2/models/slow/config", timeout=10).json()
        assert config["model_warmup"][0]["name"] == "long loop"
        assert "warmup_runs=4" in server.log_path.read_text() or '"warmup_runs":"4"' in server.log_path.read_text()
    finally:
        assert stop_server(server) == 0


def test_zero_and_random_samples_run_at_their_batch_sizes(repo, tmp_path):
    (repo / "mlp" / "config.pbtxt").write_text(MLP_WARMUP)
    server = start_server(repo, tmp_path / "ferry.log", [], ["mlp"])
    try:
        stats = warmup_stats(server.http_base(), "mlp")
        # zeros: 3 runs, random: 1, on each of 2 instances; no request was counted.
        assert int(stats["count"]) == 8
        model = requests.get(f"{server.http_base()}/v2/models/mlp/stats", timeout=10).json()["model_stats"][0]
        assert int(model["inference_count"]) == 0
    finally:
        assert stop_server(server) == 0


@pytest.mark.parametrize(
    "sample, reason",
    [
        ('inputs { key: "nope" value: { data_type: TYPE_FP32 dims: [64] zero_data: true } }', "nope"),
        ('inputs { key: "input" value: { data_type: TYPE_FP32 dims: [63] zero_data: true } }', "does not fit the model"),
        ('inputs { key: "input" value: { data_type: TYPE_INT32 dims: [64] zero_data: true } }', "does not fit the model"),
        ('inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] input_data_file: "short.bin" } }', "has 8 bytes"),
        ('inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] input_data_file: "absent.bin" } }', "cannot be read"),
        ('inputs { key: "input" value: { data_type: TYPE_FP32 dims: [64] input_data_file: "../config.pbtxt" } }',
         "inside the model's warmup directory"),
        ('inputs { key: "input" value: { data_type: TYPE_FP32 dims: [-1] zero_data: true } }', "must be fixed"),
    ],
)
def test_a_sample_that_does_not_fit_makes_the_model_unavailable_with_the_reason(repo, tmp_path, sample, reason):
    (repo / "mlp" / "config.pbtxt").write_text(
        f'name: "mlp"\nmax_batch_size: 8\nmodel_warmup [{{ name: "bad" batch_size: 2 {sample} }}]\n')
    (repo / "mlp" / "warmup").mkdir()
    (repo / "mlp" / "warmup" / "short.bin").write_bytes(bytes(8))
    server = start_server(repo, tmp_path / "ferry.log", [], ["slow"])
    try:
        entry = state(server.http_base(), "mlp")
        assert entry["state"] == "UNAVAILABLE", entry
        assert "model_warmup 'bad'" in entry["reason"] and reason in entry["reason"], entry
        body = {"inputs": [
            {"name": "iterations", "datatype": "INT64", "shape": [], "data": [2]},
            {"name": "x", "datatype": "FP32", "shape": [1, 64], "data": [1.0] * 64},
        ]}
        assert requests.post(f"{server.http_base()}/v2/models/slow/infer", json=body, timeout=10).status_code == 200
    finally:
        assert stop_server(server) == 0
