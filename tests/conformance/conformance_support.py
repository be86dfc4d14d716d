"""Shared helpers for Ferry's protocol conformance suite.

Everything here talks to the server only through NVIDIA's official Python
clients (``tritonclient.http`` / ``tritonclient.grpc``) or plain HTTP for the
few things those clients do not expose (status codes, /metrics).

The reference requests and responses come from ``Tests/Fixtures/models/*.cases.json``
(see that folder's README.md for the format).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "Tests" / "Fixtures" / "models"
EXAMPLES = REPO_ROOT / "examples"

# Fixture models served by the main test server (as REPO/NAME/1/model.onnx).
IDENTITY_MODELS = sorted(p.stem for p in FIXTURES.glob("identity_*.onnx"))
FIXTURE_MODELS = ["mlp", *IDENTITY_MODELS, "strings", "multi_io", "classifier_no_zipmap"]
# Every model that must end up READY (digits comes from examples/models/digits).
GOOD_MODELS = [*FIXTURE_MODELS, "digits"]
# A model whose model.onnx is a truncated protobuf: it fails to load.
BROKEN_MODEL = "broken"
# A name that must be percent-encoded in a URL (tritonclient quotes it).
SPACED_MODEL = "my mlp ü"

# Transports a behaviour shared by both protocols is checked over. HTTP is
# checked with the JSON tensor encoding and with the binary tensor extension.
PROTOCOLS = ["http", "grpc"]
TRANSPORTS = ["http-json", "http-binary", "grpc"]

# The expected gRPC status names (InferenceServerException.status() is
# str(grpc.StatusCode.X) == "StatusCode.X") and HTTP status codes (the client
# reports str(status_code)).
HTTP_STATUS = {
    "invalid": "400",
    "not_found": "404",
    "too_large": "413",
    "unavailable": "503",
}
GRPC_STATUS = {
    "invalid": "StatusCode.INVALID_ARGUMENT",
    "not_found": "StatusCode.NOT_FOUND",
    "too_large": "StatusCode.RESOURCE_EXHAUSTED",
    "unavailable": "StatusCode.UNAVAILABLE",
}

# mlp, the classifiers and multi_io's `sum` do float arithmetic: the fixture
# README says results may differ in the last bits with another thread count or
# ORT build, so they are compared with this (tiny) tolerance. Identity and Cast
# outputs are compared exactly.
FLOAT_TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}
ARITHMETIC_OUTPUTS = {
    ("mlp", "output"),
    ("multi_io", "sum"),
    ("classifier_no_zipmap", "probabilities"),
    ("digits", "probabilities"),
}

# The second server (`limited_server`) runs with --max-request-bytes this.
LIMITED_REQUEST_BYTES = 1024

SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 30.0


# ---------------------------------------------------------------------------
# The ferry binary and the server process
# ---------------------------------------------------------------------------


def ferry_bin() -> Path:
    """FERRY_BIN, or <repo>/.build/release/ferry."""
    configured = os.environ.get("FERRY_BIN")
    return Path(configured) if configured else REPO_ROOT / ".build" / "release" / "ferry"


def ferry_missing_reason() -> str | None:
    """Why the server cannot be started, or None when the binary is there."""
    path = ferry_bin()
    if path.is_file() and os.access(path, os.X_OK):
        return None
    how = (
        "build it first with `make build` (or `swift build -c release --product ferry`) "
        "in the repository root, or point FERRY_BIN at a ferry executable"
    )
    if "FERRY_BIN" in os.environ:
        return f"FERRY_BIN={path} is not an executable file: {how}"
    return f"ferry binary not found at {path}: {how}"


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (all bound at once, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def add_model(repo: Path, name: str, onnx_file: Path, config: Path | None = None) -> None:
    """Lay out REPO/NAME/1/model.onnx (+ NAME/config.pbtxt) the way Triton does."""
    version_dir = repo / name / "1"
    version_dir.mkdir(parents=True, exist_ok=True)
    (version_dir / "model.onnx").write_bytes(onnx_file.read_bytes())
    if config is not None:
        (repo / name / "config.pbtxt").write_bytes(config.read_bytes())


def build_main_repository(repo: Path) -> Path:
    """The repository the main server serves: fixtures, digits and `broken`."""
    repo.mkdir(parents=True, exist_ok=True)
    for name in FIXTURE_MODELS:
        add_model(repo, name, FIXTURES / f"{name}.onnx")
    digits = EXAMPLES / "models" / "digits"
    add_model(repo, "digits", digits / "1" / "model.onnx", digits / "config.pbtxt")
    add_model(repo, BROKEN_MODEL, FIXTURES / "corrupt.onnx")
    add_model(repo, SPACED_MODEL, FIXTURES / "mlp.onnx")
    return repo


@dataclass
class FerryServer:
    """A running `ferry serve` and how to reach it."""

    process: subprocess.Popen
    repo: Path
    log_path: Path
    http_port: int
    grpc_port: int
    metrics_port: int
    args: list[str] = field(default_factory=list)
    # The CA that signed the server's certificate, when it serves TLS.
    ca: Path | None = None

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"127.0.0.1:{self.metrics_port}"

    def http_base(self) -> str:
        return f"{'https' if self.ca else 'http'}://{self.http_url}"

    def log_tail(self, max_chars: int = 6000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-max_chars:]

    def client(self, protocol: str):
        """A fresh official client for `protocol` ("http" or "grpc")."""
        if protocol == "http":
            return httpclient.InferenceServerClient(
                self.http_url, connection_timeout=10.0, network_timeout=60.0,
                ssl=self.ca is not None, ssl_options={"ca_certs": str(self.ca)} if self.ca else None,
            )
        if protocol == "grpc":
            if self.ca:
                return grpcclient.InferenceServerClient(self.grpc_url, ssl=True, root_certificates=str(self.ca))
            return grpcclient.InferenceServerClient(self.grpc_url)
        raise ValueError(protocol)


def start_server(
    repo: Path,
    log_path: Path,
    extra_args: Sequence[str],
    ready_models: Iterable[str],
    ca: Path | None = None,
    wait_headers: dict[str, str] | None = None,
    client_cert: tuple[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> FerryServer:
    """Start `ferry serve` on three free ports and wait until it is live and
    every model in `ready_models` is ready. Fails the test session (with the
    server log) when it does not come up within 60 s."""
    http_port, grpc_port, metrics_port = free_ports(3)
    args = [
        str(ferry_bin()),
        "serve",
        str(repo),
        "--host", "127.0.0.1",
        "--http-port", str(http_port),
        "--grpc-port", str(grpc_port),
        "--metrics-port", str(metrics_port),
        *extra_args,
    ]
    log = open(log_path, "wb")
    try:
        process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, **env} if env else None,
        )
    finally:
        log.close()
    server = FerryServer(process, repo, log_path, http_port, grpc_port, metrics_port, args, ca)
    try:
        wait_until_ready(server, list(ready_models), SERVER_START_TIMEOUT_S, wait_headers, client_cert)
    except BaseException:
        kill(server)
        raise
    return server


def wait_until_ready(
    server: FerryServer, models: list[str], timeout_s: float, headers: dict[str, str] | None = None,
    client_cert: tuple[str, str] | None = None,
) -> None:
    # Triton's /v2/health/ready is false while any loaded model is not ready,
    # and the main repository holds a model that cannot load: wait for
    # liveness, then for each model that should load.
    import pytest

    deadline = time.monotonic() + timeout_s
    pending = ["/v2/health/live", *[f"/v2/models/{m}/ready" for m in models]]
    session = requests.Session()
    session.headers.update(headers or {})
    if server.ca:
        # REQUESTS_CA_BUNDLE, when set, would win over a session's own CA.
        session.trust_env = False
        session.verify = str(server.ca)
    session.cert = client_cert
    last_error = "no attempt made"
    try:
        while pending:
            if server.process.poll() is not None:
                pytest.fail(
                    f"ferry exited with status {server.process.returncode} during start-up.\n"
                    f"command: {shlex.join(server.args)}\n--- server log ---\n{server.log_tail()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"ferry did not become ready within {timeout_s:.0f} s: still waiting for "
                    f"{pending} (last: {last_error}).\ncommand: {shlex.join(server.args)}\n"
                    f"--- server log ---\n{server.log_tail()}",
                    pytrace=False,
                )
            try:
                response = session.get(server.http_base() + pending[0], timeout=2.0)
                if response.status_code == 200:
                    pending.pop(0)
                    continue
                last_error = f"GET {pending[0]} -> {response.status_code}"
            except requests.RequestException as error:
                last_error = f"GET {pending[0]}: {error.__class__.__name__}"
            time.sleep(0.1)
    finally:
        session.close()


def stop_server(server: FerryServer, timeout_s: float = SERVER_STOP_TIMEOUT_S) -> int | None:
    """SIGTERM, then wait. Returns the exit status, or None (after SIGKILL)
    when the server did not exit within `timeout_s`."""
    if server.process.poll() is not None:
        return server.process.returncode
    server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill(server)
        return None


def kill(server: FerryServer) -> None:
    if server.process.poll() is None:
        server.process.kill()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------------------
# Reference cases
# ---------------------------------------------------------------------------

_cases_cache: dict[str, dict] = {}


def cases_file(model: str) -> dict:
    if model not in _cases_cache:
        _cases_cache[model] = json.loads((FIXTURES / f"{model}.cases.json").read_text())
    return _cases_cache[model]


def case_names(model: str) -> list[str]:
    return [c["name"] for c in cases_file(model)["cases"]]


def case(model: str, name: str) -> dict:
    for c in cases_file(model)["cases"]:
        if c["name"] == name:
            return c
    raise KeyError(f"{model}: no case {name!r}")


def signature(model: str) -> dict:
    return cases_file(model)["signature"]


NUMPY_DTYPES = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    # tritonclient carries BF16 tensors as float32 arrays and truncates them to
    # their upper 16 bits on the wire; every BF16 fixture value is exactly
    # representable, so nothing is lost.
    "BF16": np.float32,
    "FP32": np.float32,
    "FP64": np.float64,
    "BYTES": np.object_,
}


def tensor_to_numpy(tensor: dict) -> np.ndarray:
    """A cases.json tensor ({datatype, shape, data}) as the numpy array the
    official clients take and return."""
    datatype = tensor["datatype"]
    if datatype == "BYTES":
        flat = np.array([s.encode("utf-8") for s in tensor["data"]], dtype=np.object_)
    else:
        flat = np.array(tensor["data"], dtype=NUMPY_DTYPES[datatype])
    return flat.reshape(tensor["shape"])


# ---------------------------------------------------------------------------
# Inference through the official clients
# ---------------------------------------------------------------------------


def protocol_of(transport: str) -> str:
    return transport.split("-", 1)[0]


def make_inputs(transport: str, tensors: list[dict]) -> list:
    """InferInput objects for cases.json input tensors."""
    module = httpclient if transport.startswith("http") else grpcclient
    inputs = []
    for t in tensors:
        array = tensor_to_numpy(t)
        infer_input = module.InferInput(t["name"], list(array.shape), t["datatype"])
        if transport == "http-json":
            infer_input.set_data_from_numpy(array, binary_data=False)
        elif transport == "http-binary":
            infer_input.set_data_from_numpy(array, binary_data=True)
        else:
            infer_input.set_data_from_numpy(array)
        inputs.append(infer_input)
    return inputs


def make_outputs(transport: str, names: list[str] | None) -> list | None:
    """InferRequestedOutput objects; None asks for every output (in binary
    form over HTTP, which is what the client requests when none are listed)."""
    if names is None:
        return None
    if transport.startswith("http"):
        binary = transport == "http-binary"
        return [httpclient.InferRequestedOutput(n, binary_data=binary) for n in names]
    return [grpcclient.InferRequestedOutput(n) for n in names]


def infer(
    server: FerryServer,
    transport: str,
    model: str,
    inputs: list[dict],
    output_names: list[str] | None = None,
    request_id: str = "",
):
    """One inference over `transport` with a fresh client; returns the InferResult."""
    if transport == "http-json" and output_names is None:
        # Without a list of outputs the HTTP client asks for binary outputs;
        # in JSON mode every output is requested explicitly as JSON.
        output_names = [o["name"] for o in expected_outputs_of(model)] or None
    client = server.client(protocol_of(transport))
    try:
        return client.infer(
            model,
            make_inputs(transport, inputs),
            outputs=make_outputs(transport, output_names),
            request_id=request_id,
        )
    finally:
        client.close()


def expected_outputs_of(model: str) -> list[dict]:
    """The outputs a model is known to have ([] for models without a cases
    file, e.g. unknown or broken ones, whose requests must fail anyway)."""
    if model == "digits":
        return [{"name": "label"}, {"name": "probabilities"}]
    if not (FIXTURES / f"{model}.cases.json").exists():
        return []
    return signature(model)["outputs"]


def response_outputs(result) -> list[tuple[str, str, list[int]]]:
    """(name, datatype, shape) of each output in the response, in order."""
    response = result.get_response()
    if isinstance(response, dict):  # HTTP
        return [(o["name"], o["datatype"], [int(d) for d in o["shape"]]) for o in response["outputs"]]
    return [(o.name, o.datatype, [int(d) for d in o.shape]) for o in response.outputs]


def response_id(result) -> str:
    response = result.get_response()
    if isinstance(response, dict):
        return response.get("id", "")
    return response.id


def as_text(value: Any) -> str:
    """A BYTES element as text: the binary decoders give bytes, JSON gives str."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def assert_tensor_equal(model: str, name: str, actual: np.ndarray, expected: dict) -> None:
    """Compare one output with its cases.json tensor: shape, then values
    (exact, or within FLOAT_TOLERANCE for outputs computed by float math)."""
    assert actual is not None, f"{model}: output {name!r} missing from the response"
    want = tensor_to_numpy(expected)
    assert list(actual.shape) == list(expected["shape"]), (
        f"{model}.{name}: shape {list(actual.shape)} != expected {expected['shape']}"
    )
    if want.size == 0:
        return
    if expected["datatype"] == "BYTES":
        got_text = [as_text(v) for v in actual.reshape(-1)]
        want_text = [as_text(v) for v in want.reshape(-1)]
        assert got_text == want_text, f"{model}.{name}: strings differ"
        return
    got = np.asarray(actual).astype(want.dtype, copy=False)
    if (model, name) in ARITHMETIC_OUTPUTS:
        np.testing.assert_allclose(got, want, err_msg=f"{model}.{name}", **FLOAT_TOLERANCE)
    else:
        np.testing.assert_array_equal(got, want, err_msg=f"{model}.{name}")


def assert_response_matches(model: str, result, expected_response: dict) -> None:
    """Names, order, datatypes, shapes and values of every expected output."""
    expected = expected_response["outputs"]
    got_meta = response_outputs(result)
    assert [m[0] for m in got_meta] == [o["name"] for o in expected], (
        f"{model}: outputs {[m[0] for m in got_meta]} != expected {[o['name'] for o in expected]}"
    )
    for (name, datatype, shape), want in zip(got_meta, expected):
        assert datatype == want["datatype"], f"{model}.{name}: datatype {datatype} != {want['datatype']}"
        assert shape == want["shape"], f"{model}.{name}: shape {shape} != {want['shape']}"
        assert_tensor_equal(model, name, result.as_numpy(name), want)


def expect_error(transport_or_protocol: str, kind: str, call, *args, **kwargs) -> InferenceServerException:
    """Run `call`, which must raise InferenceServerException with the HTTP
    status / gRPC code for `kind` (a key of HTTP_STATUS); returns it."""
    import pytest

    protocol = protocol_of(transport_or_protocol)
    want = HTTP_STATUS[kind] if protocol == "http" else GRPC_STATUS[kind]
    with pytest.raises(InferenceServerException) as info:
        call(*args, **kwargs)
    error = info.value
    assert error.status() == want, (
        f"expected status {want} ({kind}), got {error.status()}: {error.message()}"
    )
    return error


STAT_DURATIONS = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output")


def model_stats(client, protocol: str, model: str) -> dict:
    """Summed statistics of every version of `model`: inference_count,
    execution_count and the `count` of each inference_stats duration
    (success, fail, queue, compute_input, compute_infer, compute_output)."""
    totals = {"inference_count": 0, "execution_count": 0, **{k: 0 for k in STAT_DURATIONS}}
    found = False
    stats = client.get_inference_statistics(model_name=model)
    if protocol == "http":
        for entry in stats.get("model_stats", []):
            if entry.get("name") != model:
                continue
            found = True
            totals["inference_count"] += int(entry.get("inference_count", 0))
            totals["execution_count"] += int(entry.get("execution_count", 0))
            inference = entry.get("inference_stats", {})
            for k in STAT_DURATIONS:
                totals[k] += int(inference.get(k, {}).get("count", 0))
    else:
        for entry in stats.model_stats:
            if entry.name != model:
                continue
            found = True
            totals["inference_count"] += entry.inference_count
            totals["execution_count"] += entry.execution_count
            for k in STAT_DURATIONS:
                totals[k] += getattr(entry.inference_stats, k).count
    assert found, f"statistics response has no entry for model {model!r}: {stats}"
    return totals


def wait_for(predicate, timeout_s: float = 10.0, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)
