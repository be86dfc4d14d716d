"""Statistics extension: per-model inference counts after inferences."""

from __future__ import annotations

from conformance_support import STAT_DURATIONS, case, expect_error, infer, make_inputs, model_stats

N = 5


def transport_for(protocol: str) -> str:
    return "grpc" if protocol == "grpc" else "http-binary"


def run_n(server, protocol, model, case_name, n=N):
    request = case(model, case_name)["request"]["inputs"]
    for _ in range(n):
        infer(server, transport_for(protocol), model, request)


def test_inference_count_grows_by_requests_served(server, client, protocol):
    before = model_stats(client, protocol, "mlp")
    run_n(server, protocol, "mlp", "batch1")
    after = model_stats(client, protocol, "mlp")
    # inference_count counts batch items (Triton); each request here is batch 1.
    assert after["inference_count"] - before["inference_count"] >= N, (before, after)


def test_success_count_grows_by_requests_served(server, client, protocol):
    before = model_stats(client, protocol, "mlp")
    run_n(server, protocol, "mlp", "batch1")
    after = model_stats(client, protocol, "mlp")
    assert after["success"] - before["success"] >= N, (before, after)


def test_execution_count_grows(server, client, protocol):
    # Batching may merge requests into one execution, but at least one ran.
    before = model_stats(client, protocol, "mlp")
    run_n(server, protocol, "mlp", "batch1")
    after = model_stats(client, protocol, "mlp")
    assert 1 <= after["execution_count"] - before["execution_count"] <= N, (before, after)


def test_inference_count_counts_batch_items(server, client, protocol):
    before = model_stats(client, protocol, "mlp")
    run_n(server, protocol, "mlp", "batch3", n=2)
    after = model_stats(client, protocol, "mlp")
    assert after["inference_count"] - before["inference_count"] == 6, (before, after)
    assert after["success"] - before["success"] == 2, (before, after)


def test_statistics_have_one_entry_per_model_when_unfiltered(client, protocol):
    stats = client.get_inference_statistics()
    names = (
        [e["name"] for e in stats["model_stats"]] if protocol == "http" else [e.name for e in stats.model_stats]
    )
    assert "mlp" in names and "digits" in names


def test_rejected_request_is_not_counted_as_success(server, client, protocol):
    before = model_stats(client, protocol, "mlp")
    bad = [{"name": "input", "datatype": "FP32", "shape": [1, 63], "data": [0.0] * 63}]
    expect_error(protocol, "invalid", client.infer, "mlp", make_inputs(transport_for(protocol), bad))
    after = model_stats(client, protocol, "mlp")
    assert after["success"] == before["success"], (before, after)
    assert after["inference_count"] == before["inference_count"], (before, after)


def test_statistics_of_unknown_model_is_not_found(client, protocol):
    error = expect_error(protocol, "not_found", client.get_inference_statistics, "no_such_model")
    assert "no_such_model" in error.message()


# -- what perf_analyzer reads from the statistics extension ----------------------
# perf_analyzer finds the model version it measured by looking for the
# version whose inference_stats.queue.count grew during the window ("failed to
# find the requested model version" otherwise), and aborts when the
# compute_input / compute_infer / compute_output counts differ.


def test_queue_count_grows_by_requests_served(server, client, protocol):
    before = model_stats(client, protocol, "mlp")
    run_n(server, protocol, "mlp", "batch1")
    after = model_stats(client, protocol, "mlp")
    assert after["queue"] - before["queue"] >= N, (before, after)


def test_compute_counts_grow_and_agree(server, client, protocol):
    before = model_stats(client, protocol, "mlp")
    run_n(server, protocol, "mlp", "batch1")
    after = model_stats(client, protocol, "mlp")
    assert after["compute_input"] == after["compute_infer"] == after["compute_output"], after
    assert after["compute_infer"] > before["compute_infer"], (before, after)


def test_http_statistics_use_json_numbers_and_every_duration(server):
    # perf_analyzer (rapidjson) reads these members with GetUint64 / GetString:
    # they must all exist, counts and ns as JSON integers (not the strings
    # protobuf's JSON mapping gives int64), version as a string.
    run_n(server, "http", "mlp", "batch1", n=1)
    c = server.client("http")
    try:
        stats = c.get_inference_statistics(model_name="mlp")
    finally:
        c.close()
    entries = [e for e in stats["model_stats"] if e["name"] == "mlp"]
    assert entries, stats
    for entry in entries:
        assert isinstance(entry["version"], str) and entry["version"], entry
        for key in ("inference_count", "execution_count", "last_inference"):
            assert type(entry[key]) is int, (key, entry)
        for key in (*STAT_DURATIONS, "cache_hit", "cache_miss"):
            duration = entry["inference_stats"][key]
            assert type(duration["count"]) is int and type(duration["ns"]) is int, (key, duration)
