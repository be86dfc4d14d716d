"""Clients that hold connections without finishing requests: idle
connections, slowloris heads, stalled bodies, idle HTTP/2 connections, and
more connections than the server keeps. Each must be closed or refused with a
clear answer while other clients keep being served; the server raises its
open-file limit at start."""

from __future__ import annotations

import json
import socket
import struct
import time

import pytest
import requests
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated

from conformance_support import FIXTURES, add_model, start_server, stop_server

TIMEOUT_S = 1
MAX_CONNECTIONS = 4


def _repository(root):
    repo = root / "models"
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    add_model(repo, "identity", FIXTURES / "identity_fp32.onnx")
    return repo


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    """Timeouts of one second, so the tests see them expire."""
    root = tmp_path_factory.mktemp("connections-strict")
    server = start_server(
        _repository(root), root / "ferry.log",
        # No batching, so one request may carry millions of rows.
        ["--idle-timeout", str(TIMEOUT_S), "--header-timeout", str(TIMEOUT_S), "--body-timeout", str(TIMEOUT_S),
         "--default-max-batch-size", "0"],
        ["mlp", "identity"],
    )
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("connections-capped")
    server = start_server(_repository(root), root / "ferry.log", ["--max-connections", str(MAX_CONNECTIONS)], ["mlp", "identity"])
    yield server
    stop_server(server)


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.settimeout(10)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    return received


def _response(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def _until_goaway(sock: socket.socket, connection: H2Connection):
    """Reads frames, answering as h2 does, until the server's GOAWAY or the
    close: seconds to the first stream reset (or None), and the
    ConnectionTerminated event (or None)."""
    from h2.events import StreamReset

    started = time.monotonic()
    reset = None
    while True:
        data = sock.recv(65536)
        if not data:
            return reset, None
        for event in connection.receive_data(data):
            if isinstance(event, StreamReset) and reset is None:
                reset = time.monotonic() - started
            if isinstance(event, ConnectionTerminated):
                return reset, event
        sock.sendall(connection.data_to_send())


def _infer_ok(server) -> None:
    body = {"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}]}
    answer = requests.post(f"{server.http_base()}/v2/models/mlp/infer", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def test_a_head_that_does_not_complete_gets_408_and_the_connection_closes(strict_server):
    sock = _connect(strict_server.http_port)
    started = time.monotonic()
    sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n")
    raw = _read_until_closed(sock)
    elapsed = time.monotonic() - started
    status, headers, body = _response(raw)
    assert status == 408
    assert headers["connection"] == "close"
    assert json.loads(body)["error"] == f"the request's headers did not arrive within {TIMEOUT_S} s"
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 5
    _infer_ok(strict_server)


def test_a_slowloris_head_trickling_bytes_is_cut_off_at_the_header_timeout(strict_server):
    sock = _connect(strict_server.http_port)
    started = time.monotonic()
    sock.sendall(b"GET /v2/health/live HTTP/1.1\r\n")
    closed = False
    for index in range(40):
        try:
            sock.sendall(f"X-Slow-{index}: 1\r\n".encode())
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.1)
        # Each byte comes well within the timeout: only the head's total time counts.
    raw = b"" if closed else _read_until_closed(sock)
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + 5
    if raw:
        assert _response(raw)[0] == 408


def test_a_body_that_stalls_closes_the_connection(strict_server):
    sock = _connect(strict_server.http_port)
    head = (
        "POST /v2/models/mlp/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"inputs": [')
    started = time.monotonic()
    raw = _read_until_closed(sock)
    elapsed = time.monotonic() - started
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + 5
    # Nothing, or an answer that is not a success: the request was never whole.
    assert not raw.startswith(b"HTTP/1.1 200")
    _infer_ok(strict_server)


def test_a_body_that_stalls_after_an_early_answer_still_closes_the_connection(strict_server):
    # The route answers 404 before reading the body; the client never sends it.
    sock = _connect(strict_server.http_port)
    sock.sendall(b"POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
    started = time.monotonic()
    raw = _read_until_closed(sock)
    assert raw.startswith(b"HTTP/1.1 404"), raw
    assert time.monotonic() - started < TIMEOUT_S + 5


def test_a_grpc_call_whose_client_stops_sending_is_reset(strict_server):
    # HEADERS and half a message, then silence: the stream is reset after the
    # body timeout, and the connection, left without streams, closes when idle.
    sock = _connect(strict_server.grpc_port)
    connection = H2Connection(H2Configuration(client_side=True))
    connection.initiate_connection()
    stream = connection.get_next_available_stream_id()
    connection.send_headers(stream, [
        (":method", "POST"), (":scheme", "http"), (":path", "/inference.GRPCInferenceService/ModelInfer"),
        (":authority", "127.0.0.1"), ("content-type", "application/grpc"), ("te", "trailers"),
    ])
    connection.send_data(stream, struct.pack(">BI", 0, 1000) + b"x" * 10)
    sock.sendall(connection.data_to_send())
    reset, terminated = _until_goaway(sock, connection)
    assert reset is not None and TIMEOUT_S * 0.9 <= reset < TIMEOUT_S + 5
    assert terminated is not None and terminated.additional_data == b"ferry: connection idle"


def test_a_client_that_stops_reading_its_answer_is_cut_off(strict_server):
    # 24 MB back for 24 MB sent, in binary; the client never reads, so the
    # server's writes stall once the socket buffers are full.
    rows = 2 << 20
    header = json.dumps({
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [rows, 3], "parameters": {"binary_data_size": rows * 12}}],
        "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
    }).encode()
    body = header + bytes(rows * 12)
    sock = _connect(strict_server.http_port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
    sock.sendall(
        b"POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        + f"Inference-Header-Content-Length: {len(header)}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    time.sleep(TIMEOUT_S + 4)
    received = _read_until_closed(sock)
    assert received.startswith(b"HTTP/1.1 200")
    assert len(received) < rows * 12, "the whole answer arrived: the server waited for the reader"
    _infer_ok(strict_server)


def test_an_idle_keep_alive_connection_closes_and_a_busy_one_does_not(strict_server):
    sock = _connect(strict_server.http_port)
    request = b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    # Requests spaced below the idle timeout keep the connection.
    for _ in range(4):
        sock.sendall(request)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        time.sleep(TIMEOUT_S * 0.5)
    started = time.monotonic()
    assert _read_until_closed(sock) == b""
    assert time.monotonic() - started < TIMEOUT_S + 5


def test_an_http2_connection_without_a_preface_or_a_stream_is_closed(strict_server):
    silent = _connect(strict_server.grpc_port)
    started = time.monotonic()
    _read_until_closed(silent)  # the server's SETTINGS, then the close
    assert time.monotonic() - started < TIMEOUT_S + 5

    sock = _connect(strict_server.grpc_port)
    connection = H2Connection(H2Configuration(client_side=True))
    connection.initiate_connection()
    sock.sendall(connection.data_to_send())
    started = time.monotonic()
    _, terminated = _until_goaway(sock, connection)
    assert terminated is not None
    assert terminated.error_code == 0
    assert terminated.additional_data == b"ferry: connection idle"
    assert time.monotonic() - started < TIMEOUT_S + 5


def test_connections_beyond_the_cap_are_refused_clearly_and_others_still_served(capped_server):
    held = [_connect(capped_server.http_port) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.3)
        refused = _connect(capped_server.http_port)
        refused.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, body = _response(_read_until_closed(refused))
        assert status == 503
        assert headers["retry-after"] == "1"
        assert json.loads(body)["error"] == (
            f"the server has no room for another connection (at most {MAX_CONNECTIONS}); retry shortly"
        )

        # gRPC shares the count: the server's SETTINGS, then GOAWAY ENHANCE_YOUR_CALM with the reason.
        grpc_sock = _connect(capped_server.grpc_port)
        connection = H2Connection(H2Configuration(client_side=True))
        connection.initiate_connection()
        grpc_sock.sendall(connection.data_to_send())
        raw = _read_until_closed(grpc_sock)
        goaway = None
        offset = 0
        while offset + 9 <= len(raw):
            length = int.from_bytes(raw[offset:offset + 3], "big")
            kind = raw[offset + 3]
            payload = raw[offset + 9: offset + 9 + length]
            if kind == 0x7:
                goaway = payload
            offset += 9 + length
        assert goaway is not None, raw
        _, error_code = struct.unpack(">II", goaway[:8])
        assert error_code == 0xB
        assert goaway[8:].decode().startswith("ferry: the server has no room for another connection")
    finally:
        for sock in held:
            sock.close()
    # Places come back when connections close.
    deadline = time.monotonic() + 10
    while True:
        try:
            _infer_ok(capped_server)
            break
        except (AssertionError, requests.ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_open_file_limit_is_raised_to_the_hard_limit(capped_server):
    limits = open(f"/proc/{capped_server.process.pid}/limits").read()
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard
    log = capped_server.log_tail()
    assert f'"open_file_limit":"{soft}"' in log.replace(" ", "") or f"open_file_limit={soft}" in log
