"""OpenTelemetry traces: `ferry serve --otel-endpoint` sends a span per
request to an OTLP/HTTP receiver (a small collector in this test), continuing
the trace the client names in W3C `traceparent`, with child spans for decode,
queue, compute and encode."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient

from conformance_support import FIXTURES, add_model, case, start_server, stop_server


class Collector:
    """Receives OTLP/HTTP JSON export requests on 127.0.0.1 and keeps their spans."""

    def __init__(self):
        self.spans: list[dict] = []
        self.resources: list[dict] = []
        self.content_types: set[str] = set()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.content_types.add(self.headers["Content-Type"])
                assert self.path == "/v1/traces"
                document = json.loads(body)
                for resource_spans in document["resourceSpans"]:
                    collector.resources.append(resource_spans["resource"])
                    for scope_spans in resource_spans["scopeSpans"]:
                        collector.spans.extend(scope_spans["spans"])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def trace(self, trace_id: str, count: int, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = [span for span in self.spans if span["traceId"] == trace_id]
            if len(spans) >= count:
                return spans
            time.sleep(0.1)
        return [span for span in self.spans if span["traceId"] == trace_id]

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    collector = Collector()
    root = tmp_path_factory.mktemp("tracing")
    repo = root / "models"
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    server = start_server(repo, root / "ferry.log", ["--otel-endpoint", collector.endpoint], ["mlp"])
    yield server, collector
    stop_server(server)
    collector.close()


def _children(spans: list[dict], parent: dict) -> dict[str, dict]:
    return {span["name"]: span for span in spans if span.get("parentSpanId") == parent["spanId"]}


def _check_inference_children(spans: list[dict], root: dict) -> None:
    children = _children(spans, root)
    assert set(children) == {"decode", "queue", "compute", "encode"}, [s["name"] for s in spans]
    start, end = int(root["startTimeUnixNano"]), int(root["endTimeUnixNano"])
    previous_end = 0
    for name in ("decode", "queue", "compute", "encode"):
        child = children[name]
        assert child["kind"] == 1
        child_start, child_end = int(child["startTimeUnixNano"]), int(child["endTimeUnixNano"])
        assert start <= child_start <= child_end <= end + 1_000_000, (name, child, root)
        assert child_start >= previous_end - 1_000, f"{name} starts before the step before it ends"
        previous_end = child_end
    assert int(children["compute"]["endTimeUnixNano"]) > int(children["compute"]["startTimeUnixNano"])


def test_http_inference_continues_the_clients_trace(traced):
    server, collector = traced
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    request = case("mlp", "batch1")["request"]
    response = requests.post(f"{server.http_base()}/v2/models/mlp/infer", json=request, timeout=10,
                             headers={"traceparent": f"00-{trace_id}-{parent_id}-01", "tracestate": "vendor=abc",
                                      "X-Request-ID": "traced-http"})
    assert response.status_code == 200
    spans = collector.trace(trace_id, 5)
    roots = [span for span in spans if span.get("parentSpanId") == parent_id]
    assert len(roots) == 1, spans
    root = roots[0]
    assert root["name"] == "POST /v2/models/{model}/infer" and root["kind"] == 2
    assert root["traceState"] == "vendor=abc"
    attributes = {a["key"]: a["value"] for a in root["attributes"]}
    assert attributes["http.route"] == {"stringValue": "/v2/models/{model}/infer"}
    assert attributes["http.response.status_code"] == {"intValue": "200"}
    assert attributes["ferry.model"] == {"stringValue": "mlp"}
    assert attributes["ferry.request_id"] == {"stringValue": "traced-http"}
    assert "status" not in root
    _check_inference_children(spans, root)
    service = {a["key"]: a["value"] for a in collector.resources[0]["attributes"]}
    assert service["service.name"] == {"stringValue": "ferry"}
    assert collector.content_types == {"application/json"}


def test_grpc_inference_continues_the_clients_trace(traced):
    server, collector = traced
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    request = case("mlp", "batch1")["request"]["inputs"][0]
    tensor = grpcclient.InferInput("input", request["shape"], "FP32")
    tensor.set_data_from_numpy(np.array(request["data"], dtype=np.float32).reshape(request["shape"]))
    client = server.client("grpc")
    client.infer("mlp", [tensor], headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    spans = collector.trace(trace_id, 5)
    roots = [span for span in spans if span.get("parentSpanId") == parent_id]
    assert len(roots) == 1, spans
    root = roots[0]
    assert root["name"] == "inference.GRPCInferenceService/ModelInfer" and root["kind"] == 2
    attributes = {a["key"]: a["value"] for a in root["attributes"]}
    assert attributes["rpc.grpc.status_code"] == {"intValue": "0"}
    assert attributes["ferry.model"] == {"stringValue": "mlp"}
    _check_inference_children(spans, root)


def test_failures_and_new_traces(traced):
    server, collector = traced
    # Without traceparent a request starts its own trace (a root span).
    before = len(collector.spans)
    requests.get(f"{server.http_base()}/v2/models/mlp", timeout=10)
    deadline = time.monotonic() + 10
    while not any(s["name"] == "GET /v2/models/{model}" for s in collector.spans[before:]) and time.monotonic() < deadline:
        time.sleep(0.1)
    root = next(s for s in collector.spans[before:] if s["name"] == "GET /v2/models/{model}")
    assert "parentSpanId" not in root and len(root["traceId"]) == 32
    # A malformed traceparent is ignored, not continued.
    requests.get(f"{server.http_base()}/v2/models/mlp", headers={"traceparent": "00-zz-11-01"}, timeout=10)
    # A gRPC call that fails on the server's side is an error span; a client's mistake is not.
    trace_id = secrets.token_hex(16)
    with grpc.insecure_channel(server.grpc_url) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/ModelMetadata", request_serializer=None,
                                   response_deserializer=None)
        with pytest.raises(grpc.RpcError) as failed:
            call(b"\x0a\x07missing", metadata=[("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01")], timeout=10)
        assert failed.value.code() == grpc.StatusCode.NOT_FOUND
    (span,) = collector.trace(trace_id, 1)
    assert "status" not in span
    assert {a["key"]: a["value"] for a in span["attributes"]}["rpc.grpc.status_code"] == {"intValue": "5"}


def test_unsampled_traces_are_not_recorded(traced):
    server, collector = traced
    trace_id = secrets.token_hex(16)
    requests.post(f"{server.http_base()}/v2/models/mlp/infer", json=case("mlp", "batch1")["request"], timeout=10,
                  headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-00"})
    time.sleep(1.5)  # past an export
    assert collector.trace(trace_id, 1, timeout=0.5) == []
