"""KServe's own Python clients (kserve 0.21: InferenceRESTClient with the v2
protocol, InferenceGRPCClient) against Ferry: health, model readiness and
inference over REST (JSON and binary tensors) and gRPC.

kserve cannot share the suite's venv (its grpcio/protobuf/numpy pins conflict
with tritonclient's), so kserve_probe.py runs in .deps/venv-kserve and prints
what the clients returned; the assertions are here. kserve 0.21's clients have
no metadata call.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conformance_support import FLOAT_TOLERANCE, REPO_ROOT, case

KSERVE_PYTHON = REPO_ROOT / ".deps" / "venv-kserve" / "bin" / "python"
PROBE = REPO_ROOT / "tests" / "conformance" / "kserve_probe.py"
CLIENTS = ["rest-json", "rest-binary", "grpc"]


@pytest.fixture(scope="module")
def probe(healthy_server) -> dict:
    server = healthy_server
    if not KSERVE_PYTHON.exists():
        pytest.fail(f"{KSERVE_PYTHON} is missing: run scripts/conformance-env")
    request = case("mlp", "batch3")["request"]
    spec = {
        "rest": server.http_base(),
        "grpc": server.grpc_url,
        "model": "mlp",
        "missing_model": "no_such_model",
        "inputs": request["inputs"],
    }
    run = subprocess.run(
        [str(KSERVE_PYTHON), str(PROBE), json.dumps(spec)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, f"kserve_probe.py failed:\n{run.stderr[-4000:]}"
    return json.loads(run.stdout)


@pytest.mark.parametrize("client", CLIENTS)
def test_health(probe, client):
    seen = probe[client]
    assert seen["server_live"] is True, seen
    assert seen["server_ready"] is True, seen
    assert seen["model_ready"] is True, seen


@pytest.mark.parametrize("client", CLIENTS)
def test_unknown_model_is_not_ready(probe, client):
    # REST: kserve maps the 404 to False; gRPC: Ferry answers NOT_FOUND, which
    # the client raises (it retries only UNAVAILABLE).
    seen = probe[client]["missing_model_ready"]
    if client == "grpc":
        assert isinstance(seen, dict) and "NOT_FOUND" in seen["error"], seen
        assert "no_such_model" in seen["error"], seen
    else:
        assert seen is False, seen


@pytest.mark.parametrize("client", CLIENTS)
def test_infer_matches_reference(probe, client):
    outputs = probe[client]["outputs"]
    assert isinstance(outputs, list), outputs
    expected = case("mlp", "batch3")["response"]["outputs"]
    assert [(o["name"], o["datatype"], o["shape"]) for o in outputs] == [
        (e["name"], e["datatype"], e["shape"]) for e in expected
    ]
    for actual, wanted in zip(outputs, expected):
        np.testing.assert_allclose(
            np.array(actual["data"], dtype=np.float32),
            np.array(wanted["data"], dtype=np.float32),
            **FLOAT_TOLERANCE,
        )
