"""Ferry's gRPC transport as clients that break the rules see it: raw HTTP/2
frames (the `h2` library) for what grpcio never sends, grpcio for deadlines,
cancellation, compression and unknown methods. ModelInfer and
ModelStreamInfer take Ferry's fast path; every other RPC is bridged to
grpc-swift's server: each case is checked on both where it applies."""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time

import grpc
import numpy as np
import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived, ResponseReceived, StreamEnded, StreamReset, TrailersReceived
from tritonclient.grpc import service_pb2, service_pb2_grpc

from conformance_support import FIXTURES, SERVER_STOP_TIMEOUT_S, add_model, start_server, stop_server

INFER = "/inference.GRPCInferenceService/ModelInfer"
STREAM = "/inference.GRPCInferenceService/ModelStreamInfer"
LIVE = "/inference.GRPCInferenceService/ServerLive"
# Iterations of the `slow` fixture that keep an instance busy for minutes.
FOREVER = 200_000_000


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("grpc-transport")
    repo = root / "models"
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    add_model(repo, "slow", FIXTURES / "slow.onnx")
    server = start_server(repo, root / "ferry.log", [], ["mlp", "slow"])
    yield server
    stop_server(server)


@pytest.fixture
def stub(slow_server):
    with grpc.insecure_channel(slow_server.grpc_url) as channel:
        yield service_pb2_grpc.GRPCInferenceServiceStub(channel)


def mlp_request(request_id: str = "") -> service_pb2.ModelInferRequest:
    request = service_pb2.ModelInferRequest(model_name="mlp", id=request_id)
    request.inputs.add(name="input", datatype="FP32", shape=[1, 64])
    request.raw_input_contents.append(np.ones((1, 64), dtype=np.float32).tobytes())
    return request


def slow_request(iterations: int) -> service_pb2.ModelInferRequest:
    request = service_pb2.ModelInferRequest(model_name="slow")
    request.inputs.add(name="iterations", datatype="INT64", shape=[])
    request.inputs.add(name="x", datatype="FP32", shape=[1, 64])
    request.raw_input_contents.append(np.array(iterations, dtype=np.int64).tobytes())
    request.raw_input_contents.append(np.ones((1, 64), dtype=np.float32).tobytes())
    return request


def framed(message: bytes, compressed: bool = False) -> bytes:
    return struct.pack(">BI", 1 if compressed else 0, len(message)) + message


def h2_call(port: int, path: str, chunks: list[bytes], *, method: str = "POST", content_type: str = "application/grpc",
            extra: list[tuple[str, str]] = (), end_stream: bool = True, timeout_s: float = 10.0) -> dict:
    """Sends one request on a fresh HTTP/2 connection, each chunk a DATA
    frame, and returns the response's headers, body, trailers and whether
    the server reset the stream (with which code)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    conn = H2Connection(H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    headers = [(":method", method), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
               ("content-type", content_type), ("te", "trailers"), *extra]
    conn.send_headers(stream, headers, end_stream=end_stream and not chunks)
    for index, chunk in enumerate(chunks):
        conn.send_data(stream, chunk, end_stream=end_stream and index == len(chunks) - 1)
    sock.sendall(conn.data_to_send())
    result = {"headers": {}, "body": b"", "trailers": {}, "reset": None}
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, ResponseReceived) and event.stream_id == stream:
                    result["headers"] = dict(event.headers)
                elif isinstance(event, DataReceived) and event.stream_id == stream:
                    result["body"] += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, stream)
                elif isinstance(event, TrailersReceived) and event.stream_id == stream:
                    result["trailers"] = dict(event.headers)
                elif isinstance(event, StreamReset) and event.stream_id == stream:
                    result["reset"] = event.error_code
                    return result
                elif isinstance(event, StreamEnded) and event.stream_id == stream:
                    return result
            sock.sendall(conn.data_to_send())
        raise AssertionError(f"no end of stream within {timeout_s} s: {result}")
    finally:
        sock.close()


def status_of(result: dict) -> tuple[int, str]:
    """grpc-status and grpc-message, from trailers or a trailers-only response."""
    fields = result["trailers"] or result["headers"]
    return int(fields["grpc-status"]), fields.get("grpc-message", "")


def test_a_message_split_across_frames_anywhere_is_read_whole(slow_server):
    message = framed(mlp_request("split").SerializeToString())
    result = h2_call(slow_server.grpc_port, INFER, [message[:2], message[2:7], message[7:100], message[100:]])
    assert status_of(result) == (0, "")
    response = service_pb2.ModelInferResponse()
    response.ParseFromString(result["body"][5:])
    assert response.id == "split"
    assert np.frombuffer(response.raw_output_contents[0], dtype=np.float32).shape == (16,)


@pytest.mark.parametrize("path", [INFER, LIVE])
def test_unary_call_without_a_message_is_internal(slow_server, path):
    result = h2_call(slow_server.grpc_port, path, [])
    code, _ = status_of(result)
    assert code == grpc.StatusCode.INTERNAL.value[0]


def test_unary_call_with_two_messages_is_internal(slow_server):
    message = framed(mlp_request().SerializeToString())
    code, text = status_of(h2_call(slow_server.grpc_port, INFER, [message + message]))
    assert code == grpc.StatusCode.INTERNAL.value[0]
    assert "one request message" in text


@pytest.mark.parametrize("path", [INFER, STREAM, LIVE])
def test_message_marked_compressed_without_an_encoding_is_internal(slow_server, path):
    code, text = status_of(h2_call(slow_server.grpc_port, path, [framed(b"\x00" * 8, compressed=True)]))
    assert code == grpc.StatusCode.INTERNAL.value[0]
    assert "compressed" in text


@pytest.mark.parametrize("path", [INFER, STREAM, LIVE])
def test_request_that_ends_inside_a_message_is_internal(slow_server, path):
    code, text = status_of(h2_call(slow_server.grpc_port, path, [struct.pack(">BI", 0, 100) + b"x" * 10]))
    assert code == grpc.StatusCode.INTERNAL.value[0]
    assert "inside a message" in text


@pytest.mark.parametrize("path", [INFER, STREAM])
def test_bytes_that_are_not_a_request_message_are_invalid_argument(slow_server, path):
    code, text = status_of(h2_call(slow_server.grpc_port, path, [framed(b"\xff\xff\xff\xff")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "ModelInferRequest" in text


@pytest.mark.parametrize("path", [INFER, LIVE])
def test_get_is_refused_with_405(slow_server, path):
    result = h2_call(slow_server.grpc_port, path, [], method="GET")
    assert result["headers"][":status"] == "405"


@pytest.mark.parametrize("path", [INFER, LIVE])
def test_content_type_that_is_not_grpc_is_refused_with_415(slow_server, path):
    result = h2_call(slow_server.grpc_port, path, [framed(b"")], content_type="application/json")
    assert result["headers"][":status"] == "415"


@pytest.mark.parametrize("path", ["/nopath", "/inference.GRPCInferenceService/NoSuchMethod", "/no.Such/Service"])
def test_unknown_method_is_unimplemented(slow_server, path):
    code, _ = status_of(h2_call(slow_server.grpc_port, path, [framed(b"")]))
    assert code == grpc.StatusCode.UNIMPLEMENTED.value[0]


@pytest.mark.parametrize("rpc", ["ModelInfer", "ServerLive"])
def test_compressed_request_is_unimplemented_and_names_the_accepted_encoding(stub, rpc):
    with pytest.raises(grpc.RpcError) as raised:
        if rpc == "ModelInfer":
            stub.ModelInfer(mlp_request(), compression=grpc.Compression.Gzip, timeout=10)
        else:
            stub.ServerLive(service_pb2.ServerLiveRequest(), compression=grpc.Compression.Gzip, timeout=10)
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "gzip" in raised.value.details()


def test_invalid_grpc_timeout_is_invalid_argument(slow_server):
    message = framed(mlp_request().SerializeToString())
    code, text = status_of(h2_call(slow_server.grpc_port, INFER, [message], extra=[("grpc-timeout", "soon")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "grpc-timeout" in text


def test_status_message_with_non_ascii_and_percent_comes_through_exactly(stub):
    request = mlp_request()
    request.model_name = "nø%model"
    with pytest.raises(grpc.RpcError) as raised:
        stub.ModelInfer(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "unknown model 'nø%model'"


def quick_answer(stub) -> None:
    """An MLP request answered promptly: a free instance exists."""
    response = stub.ModelInfer(mlp_request("after"), timeout=10)
    assert response.id == "after"


@pytest.mark.parametrize("streaming", [False, True])
def test_deadline_ends_the_rpc_and_stops_the_run(stub, streaming):
    # Two runs that would take minutes, one per instance (the server's default
    # on this machine is two); each must stop when its deadline passes, or the
    # MLP request after them could not be answered within its 10 s.
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as raised:
            if streaming:
                for _ in stub.ModelStreamInfer(iter([slow_request(FOREVER)]), timeout=0.5):
                    pass
            else:
                stub.ModelInfer(slow_request(FOREVER), timeout=0.5)
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - started < 5
    quick_answer(stub)


def test_cancelled_call_stops_its_run(stub):
    calls = [stub.ModelInfer.future(slow_request(FOREVER), timeout=60) for _ in range(2)]
    time.sleep(0.5)
    for call in calls:
        assert call.cancel()
    quick_answer(stub)


def test_stream_answers_in_order_while_its_requests_run_concurrently(stub):
    requests = [mlp_request(f"s{i}") for i in range(500)]
    replies = list(stub.ModelStreamInfer(iter(requests), timeout=60))
    assert [reply.infer_response.id for reply in replies] == [f"s{i}" for i in range(500)]
    assert all(reply.error_message == "" for reply in replies)


def test_sigterm_lets_a_running_unary_call_finish(tmp_path_factory):
    root = tmp_path_factory.mktemp("grpc-sigterm")
    repo = root / "models"
    add_model(repo, "slow", FIXTURES / "slow.onnx")
    server = start_server(repo, root / "ferry.log", [], ["slow"])
    try:
        with grpc.insecure_channel(server.grpc_url) as channel:
            stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
            assert stub.ServerLive(service_pb2.ServerLiveRequest(), timeout=10).live  # connected
            # Long enough to be running when SIGTERM arrives, short enough for the drain.
            call = stub.ModelInfer.future(slow_request(1_500_000), timeout=60)
            time.sleep(0.3)
            server.process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            response = call.result(timeout=SERVER_STOP_TIMEOUT_S)
            assert response.model_name == "slow"
            print(f"answered {time.monotonic() - started:.2f} s after SIGTERM")
        assert server.process.wait(timeout=SERVER_STOP_TIMEOUT_S) == 0, server.log_tail()
    finally:
        if server.process.poll() is None:
            stop_server(server)


def test_stream_answers_what_came_before_a_bad_message_then_ends_with_its_error(slow_server):
    good = framed(mlp_request("first").SerializeToString())
    result = h2_call(slow_server.grpc_port, STREAM, [good + framed(b"\xff\xff\xff\xff") + framed(mlp_request("after").SerializeToString())])
    code, text = status_of(result)
    assert code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "ModelInferRequest" in text
    replies, body = [], result["body"]
    while body:
        length = struct.unpack(">I", body[1:5])[0]
        reply = service_pb2.ModelStreamInferResponse()
        reply.ParseFromString(body[5:5 + length])
        replies.append(reply.infer_response.id)
        body = body[5 + length:]
    assert replies == ["first"]


@pytest.mark.parametrize("metadata", [
    [(f"x-entry-{index}", "v") for index in range(3000)],
    [("x-big", "v" * (100 << 10))],
], ids=["3000 entries", "one 100 KB value"])
@pytest.mark.parametrize("path", [INFER, LIVE])
def test_oversized_metadata_fails_the_call_not_the_connection(slow_server, metadata, path):
    # One channel (one HTTP/2 connection): a call before, the oversized one,
    # and a call after on the same connection.
    with grpc.insecure_channel(slow_server.grpc_url) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        call = stub.ModelInfer if path == INFER else stub.ServerLive
        request = mlp_request() if path == INFER else service_pb2.ServerLiveRequest()
        call(request, timeout=10)
        with pytest.raises(grpc.RpcError) as refused:
            call(request, metadata=metadata, timeout=10)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, refused.value.details()
        assert "metadata is" in refused.value.details() and "at most 65536 are accepted" in refused.value.details()
        call(request, timeout=10)


def test_a_rapid_reset_flood_ends_only_its_own_connection(slow_server):
    # CVE-2023-44487: streams opened and reset at once, over and over. SwiftNIO
    # HTTP/2 counts the resets (200 per 30 s by default) and answers GOAWAY
    # ENHANCE_YOUR_CALM; another client is served meanwhile and after.
    from h2.errors import ErrorCodes

    sock = socket.create_connection(("127.0.0.1", slow_server.grpc_port), timeout=10)
    connection = H2Connection(H2Configuration(client_side=True))
    connection.initiate_connection()
    sock.sendall(connection.data_to_send())
    headers = [(":method", "POST"), (":scheme", "http"), (":path", INFER), (":authority", "127.0.0.1"),
               ("content-type", "application/grpc"), ("te", "trailers")]
    terminated = None
    with grpc.insecure_channel(slow_server.grpc_url) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
        for _ in range(2000):
            stream = connection.get_next_available_stream_id()
            connection.send_headers(stream, headers)
            connection.reset_stream(stream)
            try:
                sock.sendall(connection.data_to_send())
            except (BrokenPipeError, ConnectionResetError):
                break
        # The frames as they come (h2 refuses frames that follow a GOAWAY).
        sock.settimeout(2)
        received = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except (ConnectionResetError, socket.timeout):
            pass
        offset = 24 if received.startswith(b"PRI") else 0
        while offset + 9 <= len(received):
            length = int.from_bytes(received[offset:offset + 3], "big")
            if received[offset + 3] == 0x7:
                terminated = int.from_bytes(received[offset + 13:offset + 17], "big")
            offset += 9 + length
        assert terminated == ErrorCodes.ENHANCE_YOUR_CALM
        assert stub.ModelInfer(mlp_request("after"), timeout=10).id == "after"
