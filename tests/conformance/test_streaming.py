"""gRPC bidirectional streaming (ModelStreamInfer) with tritonclient.grpc's
start_stream / async_stream_infer / stop_stream."""

from __future__ import annotations

import queue
import signal
import time

import pytest

from conformance_support import (
    FIXTURES,
    GRPC_STATUS,
    SERVER_STOP_TIMEOUT_S,
    add_model,
    assert_response_matches,
    case,
    case_names,
    make_inputs,
    response_id,
    start_server,
    stop_server,
)

STREAM_TIMEOUT_S = 30.0


@pytest.fixture
def grpc_client(server):
    c = server.client("grpc")
    yield c
    try:
        c.stop_stream(cancel_requests=True)
    finally:
        c.close()


def collect(responses: queue.Queue, count: int) -> list:
    """`count` (result, error) pairs from the stream callback, or fail."""
    got = []
    for _ in range(count):
        try:
            got.append(responses.get(timeout=STREAM_TIMEOUT_S))
        except queue.Empty:
            pytest.fail(f"stream delivered {len(got)} of {count} responses within {STREAM_TIMEOUT_S:.0f} s")
    return got


def start(grpc_client) -> queue.Queue:
    responses: queue.Queue = queue.Queue()
    grpc_client.start_stream(callback=lambda result, error: responses.put((result, error)))
    return responses


def test_stream_returns_correct_result_for_every_request(grpc_client):
    responses = start(grpc_client)
    names = case_names("mlp")
    sent = {}
    for i in range(9):
        name = names[i % len(names)]
        request_id = f"stream-{i}"
        sent[request_id] = name
        grpc_client.async_stream_infer(
            "mlp", make_inputs("grpc", case("mlp", name)["request"]["inputs"]), request_id=request_id
        )
    got = collect(responses, len(sent))
    seen = []
    for result, error in got:
        assert error is None, f"stream error: {error}"
        rid = response_id(result)
        assert rid in sent, f"response id {rid!r} was never sent"
        assert_response_matches("mlp", result, case("mlp", sent[rid])["response"])
        seen.append(rid)
    assert sorted(seen) == sorted(sent), "every request id must come back exactly once"


def test_stream_preserves_request_ids_across_models(grpc_client):
    responses = start(grpc_client)
    requests_sent = {
        "a": ("mlp", "batch1"),
        "b": ("strings", "mixed"),
        "c": ("identity_int64", "extremes"),
        "d": ("multi_io", "all_outputs"),
    }
    for rid, (model, name) in requests_sent.items():
        grpc_client.async_stream_infer(
            model, make_inputs("grpc", case(model, name)["request"]["inputs"]), request_id=rid
        )
    got = collect(responses, len(requests_sent))
    ids = []
    for result, error in got:
        assert error is None, f"stream error: {error}"
        rid = response_id(result)
        model, name = requests_sent[rid]
        assert result.get_response().model_name == model
        assert_response_matches(model, result, case(model, name)["response"])
        ids.append(rid)
    assert sorted(ids) == sorted(requests_sent)


def test_stream_reports_error_and_keeps_serving(grpc_client):
    # A failing request is answered on the stream with error_message (the
    # client hands it to the callback as `error`); the stream stays usable.
    responses = start(grpc_client)
    inputs = make_inputs("grpc", case("mlp", "batch1")["request"]["inputs"])
    grpc_client.async_stream_infer("no_such_model", inputs, request_id="bad")
    first = collect(responses, 1)
    result, error = first[0]
    assert result is None and error is not None
    assert "no_such_model" in (error.message() or "")

    grpc_client.async_stream_infer("mlp", inputs, request_id="good")
    (result, error), = collect(responses, 1)
    assert error is None, f"stream error after a failed request: {error}"
    assert response_id(result) == "good"
    assert_response_matches("mlp", result, case("mlp", "batch1")["response"])


def test_stop_stream_waits_for_pending_responses(server):
    c = server.client("grpc")
    try:
        responses = start(c)
        inputs = make_inputs("grpc", case("mlp", "batch3")["request"]["inputs"])
        for i in range(5):
            c.async_stream_infer("mlp", inputs, request_id=f"p{i}")
        c.stop_stream(cancel_requests=False)  # half-closes, waits for the server to finish
        got = []
        while not responses.empty():
            got.append(responses.get_nowait())
        assert len(got) == 5
        assert all(error is None for _, error in got), [str(e) for _, e in got if e]
    finally:
        c.close()


def test_sigterm_answers_every_read_request_or_ends_the_stream_unavailable(tmp_path_factory):
    # Thousands of requests are queued on one stream, then the server gets
    # SIGTERM while it works through them. Requests it had not read when the
    # shutdown began are never run; the stream must then end UNAVAILABLE
    # (never OK), so the client knows which ones to send again.
    root = tmp_path_factory.mktemp("stream-sigterm")
    repo = root / "models"
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    server = start_server(repo, root / "ferry.log", [], ["mlp"])
    client = server.client("grpc")
    try:
        responses: queue.Queue = queue.Queue()
        client.start_stream(callback=lambda result, error: responses.put((result, error)))
        inputs = make_inputs("grpc", case("mlp", "batch3")["request"]["inputs"])
        sent = 3000
        for i in range(sent):
            client.async_stream_infer("mlp", inputs, request_id=f"s{i}")
        while responses.qsize() < 50:
            time.sleep(0.001)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=SERVER_STOP_TIMEOUT_S) == 0, server.log_tail()
        got = []
        while not responses.empty():
            got.append(responses.get_nowait())
        answered = [result for result, error in got if error is None]
        errors = [error for _, error in got if error is not None]
        if len(answered) < sent:
            assert errors, f"{len(answered)} of {sent} answered and the stream ended without an error"
            assert errors[-1].status() == GRPC_STATUS["unavailable"], str(errors[-1])
        ids = [response_id(result) for result in answered]
        assert ids == [f"s{i}" for i in range(len(ids))], "answers out of order or with gaps"
    finally:
        try:
            client.stop_stream(cancel_requests=True)
        finally:
            client.close()
            if server.process.poll() is None:
                stop_server(server)
