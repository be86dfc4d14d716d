"""Error statuses: HTTP status codes and gRPC status codes as the official
clients report them (InferenceServerException.status(): "404" /
"StatusCode.NOT_FOUND"), with messages a user can act on."""

from __future__ import annotations

import numpy as np
import pytest
import requests

from tritonclient.utils import InferenceServerException

from conformance_support import (
    BROKEN_MODEL,
    GRPC_STATUS,
    HTTP_STATUS,
    LIMITED_REQUEST_BYTES,
    TRANSPORTS,
    case,
    expect_error,
    infer,
    make_inputs,
)


@pytest.fixture(params=TRANSPORTS)
def transport(request) -> str:
    return request.param


MLP_BATCH1 = case("mlp", "batch1")["request"]["inputs"]


def fp32_input(shape, datatype="FP32", name="input"):
    count = int(np.prod(shape))
    data = [float(i % 7) for i in range(count)]
    if datatype.startswith("INT"):
        data = [int(v) for v in data]
    return [{"name": name, "datatype": datatype, "shape": list(shape), "data": data}]


# -- unknown model / version -------------------------------------------------------


def test_unknown_model_is_not_found(server, transport):
    error = expect_error(transport, "not_found", infer, server, transport, "no_such_model", MLP_BATCH1)
    assert "no_such_model" in error.message()


def test_unknown_version_is_not_found(server, protocol):
    c = server.client(protocol)
    try:
        transport = "grpc" if protocol == "grpc" else "http-binary"
        error = expect_error(
            protocol, "not_found", c.infer, "mlp", make_inputs(transport, MLP_BATCH1), model_version="7"
        )
        assert "mlp" in error.message()
    finally:
        c.close()


# -- requests that do not fit the model's signature ----------------------------------


def test_wrong_shape_is_invalid_argument(server, transport):
    error = expect_error(transport, "invalid", infer, server, transport, "mlp", fp32_input([1, 63]))
    assert "shape" in error.message().lower(), error.message()


def test_wrong_rank_is_invalid_argument(server, transport):
    error = expect_error(transport, "invalid", infer, server, transport, "mlp", fp32_input([64]))
    assert "shape" in error.message().lower(), error.message()


def test_wrong_datatype_is_invalid_argument(server, transport):
    error = expect_error(transport, "invalid", infer, server, transport, "mlp", fp32_input([1, 64], "FP64"))
    assert error.message(), "error without a message"


def test_unknown_input_name_is_invalid_argument(server, transport):
    error = expect_error(
        transport, "invalid", infer, server, transport, "mlp", fp32_input([1, 64], name="not_an_input")
    )
    assert "not_an_input" in error.message(), error.message()


def test_missing_input_is_invalid_argument(server, transport):
    inputs = case("multi_io", "all_outputs")["request"]["inputs"][:2]  # no "c"
    expect_error(transport, "invalid", infer, server, transport, "multi_io", inputs)


def test_unknown_requested_output_is_invalid_argument(server, transport):
    error = expect_error(
        transport, "invalid", infer, server, transport, "mlp", MLP_BATCH1, ["not_an_output"]
    )
    assert "not_an_output" in error.message(), error.message()


def test_malformed_json_body_is_http_400(server):
    response = requests.post(
        server.http_base() + "/v2/models/mlp/infer",
        data=b'{"inputs": [',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert "error" in response.json()


def test_json_data_count_mismatch_is_http_400(server):
    body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": [1.0] * 10}]}
    response = requests.post(server.http_base() + "/v2/models/mlp/infer", json=body, timeout=30)
    assert response.status_code == 400
    assert "error" in response.json()


# -- model not ready -------------------------------------------------------------------


def test_broken_model_is_unavailable(server, transport):
    error = expect_error(transport, "unavailable", infer, server, transport, BROKEN_MODEL, MLP_BATCH1)
    assert BROKEN_MODEL in error.message()


def test_load_failures_name_paths_relative_to_the_repository(server, transport):
    # Clients need not learn the server's layout; the log keeps the full path.
    repo = str(server.repo.resolve())
    error = expect_error(transport, "unavailable", infer, server, transport, BROKEN_MODEL, MLP_BATCH1)
    assert repo not in error.message()
    assert "broken/1/model.onnx" in error.message(), error.message()
    index = requests.post(server.http_base() + "/v2/repository/index", json={}, timeout=30).json()
    reason = next(entry["reason"] for entry in index if entry["name"] == BROKEN_MODEL)
    assert repo not in reason and "broken/1/model.onnx" in reason, reason
    assert f"{repo}/broken/1/model.onnx" in server.log_path.read_text(errors="replace")


def test_broken_model_metadata_is_an_error(server, protocol):
    # A model that failed to load has no signature to report: not ready
    # (503 / UNAVAILABLE) or, as Triton does, not found.
    table = HTTP_STATUS if protocol == "http" else GRPC_STATUS
    c = server.client(protocol)
    try:
        with pytest.raises(InferenceServerException) as info:
            c.get_model_metadata(BROKEN_MODEL)
        assert info.value.status() in (table["unavailable"], table["not_found"]), str(info.value)
        assert BROKEN_MODEL in info.value.message()
    finally:
        c.close()


# -- request size limit (second server, --max-request-bytes 1024) -----------------------


def big_mlp_request():
    # 8 x 64 float32 = 2 KiB of tensor data (about 2.5 KB as JSON): over the
    # 1 KiB limit, and small enough to sit in the socket buffers whole, so the
    # client has sent everything before it reads the answer even when the
    # server answers without reading the body.
    return fp32_input([8, 64])


@pytest.mark.slow
@pytest.mark.parametrize("transport_name", TRANSPORTS)
def test_small_request_passes_the_size_limit(limited_server, transport_name):
    # batch 1 (256 bytes of data) fits in 1024 bytes in every encoding but
    # JSON, whose text form of 64 floats may not: use a short-printing input.
    inputs = fp32_input([1, 64]) if transport_name == "http-json" else MLP_BATCH1
    result = infer(limited_server, transport_name, "mlp", inputs)
    assert result.as_numpy("output").shape == (1, 16)


@pytest.mark.slow
@pytest.mark.parametrize("transport_name", ["http-binary", "http-json"])
def test_oversized_http_body_is_413(limited_server, transport_name):
    expect_error(transport_name, "too_large", infer, limited_server, transport_name, "mlp", big_mlp_request())


@pytest.mark.slow
def test_oversized_grpc_message_is_resource_exhausted(limited_server):
    expect_error("grpc", "too_large", infer, limited_server, "grpc", "mlp", big_mlp_request())


@pytest.mark.slow
def test_oversized_raw_http_body_is_413_with_json_error(limited_server):
    body = b'{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": [' + b"0.0," * 1000 + b"0.0]}]}"
    assert len(body) > LIMITED_REQUEST_BYTES
    response = requests.post(
        limited_server.http_base() + "/v2/models/mlp/infer",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413


def test_a_declared_content_length_over_the_limit_is_413_at_once(limited_server):
    # Only the head is sent: the answer must not wait for a body that will be refused.
    import json
    import socket
    import time

    with socket.create_connection(("127.0.0.1", limited_server.http_port), timeout=10) as sock:
        sock.settimeout(10)
        sock.sendall(
            b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n"
        )
        started = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        assert time.monotonic() - started < 5
        # And the connection closes, the declared body unread.
        while sock.recv(65536):
            pass
        assert time.monotonic() - started < 5
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer
    assert json.loads(body)["error"] == (
        f"request body is larger than the server accepts (Content-Length 100000000; at most {LIMITED_REQUEST_BYTES} bytes, "
        "--max-request-bytes)"
    )


@pytest.mark.slow
def test_server_still_serves_after_oversized_request(limited_server, protocol):
    transport = "grpc" if protocol == "grpc" else "http-binary"
    expect_error(transport, "too_large", infer, limited_server, transport, "mlp", big_mlp_request())
    result = infer(limited_server, transport, "mlp", MLP_BATCH1)
    assert result.as_numpy("output").shape == (1, 16)


@pytest.mark.slow
@pytest.mark.parametrize("rpc", ["ModelInfer", "ModelStreamInfer", "tensorflow.serving.Predict"])
def test_grpc_message_far_over_the_limit_is_resource_exhausted(limited_server, rpc):
    # 3 MB against --max-request-bytes 1024: refused from the message's length
    # prefix before it is read (not a stream reset, which clients see as CANCELLED).
    import grpc
    from tritonclient.grpc import service_pb2, service_pb2_grpc

    payload = bytes(3 << 20)
    with grpc.insecure_channel(
        limited_server.grpc_url, options=[("grpc.max_send_message_length", 8 << 20)]
    ) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            if rpc == "tensorflow.serving.Predict":
                from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

                request = predict_pb2.PredictRequest()
                request.model_spec.name = "mlp"
                request.inputs["input"].dtype = 1
                request.inputs["input"].tensor_content = payload
                prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=30)
            else:
                request = service_pb2.ModelInferRequest(model_name="mlp")
                request.inputs.add(name="input", datatype="FP32", shape=[len(payload) // 256, 64])
                request.raw_input_contents.append(payload)
                stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
                if rpc == "ModelInfer":
                    stub.ModelInfer(request, timeout=30)
                else:
                    for _ in stub.ModelStreamInfer(iter([request]), timeout=30):
                        pass
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, raised.value
    assert "--max-request-bytes" in raised.value.details()
    # The connection and the server go on serving.
    result = infer(limited_server, "grpc", "mlp", MLP_BATCH1)
    assert result.as_numpy("output").shape == (1, 16)


def test_grpc_shape_whose_element_count_overflows_is_refused_with_its_reason(server):
    # tritonclient checks shapes itself, so the request goes through the raw stub.
    import grpc
    from tritonclient.grpc import service_pb2, service_pb2_grpc

    request = service_pb2.ModelInferRequest(model_name="mlp")
    tensor = request.inputs.add(name="input", datatype="FP32", shape=[2**32, 2**32])
    tensor.contents.fp32_contents.extend([1.0])
    with grpc.insecure_channel(server.grpc_url) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details() == "input 'input': shape [4294967296, 4294967296] holds more elements than any tensor can"


@pytest.mark.parametrize(
    "name, raw, reason",
    [
        ("1000 headers", b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(1000)) + b"\r\n",
         "larger than the server reads"),
        ("1 MB header", b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n",
         "larger than the server reads"),
        ("100 KB URL", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "larger than the server reads"),
        ("unknown method", b"FOO /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n", "unknown method"),
        ("Content-Length with chunked", b"POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "Content-Length together with chunked"),
    ],
)
def test_requests_the_http_parser_refuses_get_the_v2_error_body(server, name, raw, reason):
    import json
    import socket

    # The server closes at once with the rest of a huge request unread, so the
    # kernel may reset the connection before the answer is read: try again then.
    for attempt in range(5):
        answer = b""
        try:
            with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as connection:
                connection.sendall(raw)
                while chunk := connection.recv(65536):
                    answer += chunk
            break
        except (ConnectionResetError, BrokenPipeError):
            if answer.count(b"\r\n\r\n") and answer.endswith(b"}"):
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), (name, head)
    assert b"content-type: application/json" in head.lower(), (name, head)
    error = json.loads(body)["error"]
    assert error.startswith("malformed HTTP request: ") and reason in error, (name, error)
