"""Prometheus metrics on the metrics port (GET /metrics).

Metric names are not fixed yet: a per-model inference counter is any sample
whose name starts with `ferry_` or `nv_` (Triton's prefix), contains
`inference`, and carries the label model="mlp".
"""

from __future__ import annotations

import re

import requests

from conformance_support import case, infer, wait_for

N = 5

# name{labels} value   (timestamps, if any, are ignored)
SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)", re.MULTILINE
)
INFERENCE_METRIC = re.compile(r"^(?:ferry|nv)_\w*inference\w*$")
MLP_LABEL = re.compile(r'(?:^|,)\s*model\s*=\s*"mlp"')


def scrape(server) -> requests.Response:
    return requests.get(f"http://{server.metrics_url}/metrics", timeout=10)


def mlp_inference_samples(text: str) -> dict[str, float]:
    """{'name{labels}': value} for every per-model inference sample of mlp."""
    samples = {}
    for m in SAMPLE.finditer(text):
        name, labels = m.group("name"), m.group("labels") or ""
        if not INFERENCE_METRIC.match(name) or not MLP_LABEL.search(labels):
            continue
        try:
            samples[f"{name}{{{labels}}}"] = float(m.group("value"))
        except ValueError:
            continue
    return samples


def test_metrics_endpoint_serves_prometheus_text(server):
    response = scrape(server)
    assert response.status_code == 200
    assert response.headers.get("Content-Type", "").startswith("text/plain"), response.headers
    assert "# TYPE" in response.text


def test_metrics_have_per_model_inference_counter_for_mlp(server):
    infer(server, "grpc", "mlp", case("mlp", "batch1")["request"]["inputs"])
    samples = mlp_inference_samples(scrape(server).text)
    assert samples, (
        'no sample named (ferry|nv)_*inference* with label model="mlp" in /metrics:\n'
        + scrape(server).text[:3000]
    )


def test_mlp_inference_counter_grows_by_requests_served(server):
    before = mlp_inference_samples(scrape(server).text)
    request = case("mlp", "batch1")["request"]["inputs"]
    for i in range(N):
        infer(server, "http-binary" if i % 2 else "grpc", "mlp", request)

    grown = {}

    def some_counter_grew() -> bool:
        after = mlp_inference_samples(scrape(server).text)
        grown.clear()
        grown.update({k: v - before.get(k, 0.0) for k, v in after.items()})
        return any(delta >= N for delta in grown.values())

    # Counters are usually updated at once; allow for a short export delay.
    assert wait_for(some_counter_grew, timeout_s=5.0, interval_s=0.25), (
        f"no mlp inference metric grew by >= {N} after {N} requests: {grown}"
    )

