"""Model repository extension: index, load, unload (server started with
--model-control-mode explicit)."""

from __future__ import annotations

import pytest

from conformance_support import (
    BROKEN_MODEL,
    GOOD_MODELS,
    assert_response_matches,
    case,
    expect_error,
    infer,
    wait_for,
)


def repository_index(client, protocol) -> dict[str, dict]:
    """name -> {state, version, reason}, from either protocol."""
    index = client.get_model_repository_index()
    entries = {}
    if protocol == "http":
        for m in index:
            entries.setdefault(m["name"], []).append(
                {"state": m.get("state", ""), "version": m.get("version", ""), "reason": m.get("reason", "")}
            )
    else:
        for m in index.models:
            entries.setdefault(m.name, []).append(
                {"state": m.state, "version": m.version, "reason": m.reason}
            )
    return entries


def states(entries: list[dict]) -> set[str]:
    return {e["state"] for e in entries}


def test_index_lists_every_model(client, protocol):
    index = repository_index(client, protocol)
    missing = set(GOOD_MODELS + [BROKEN_MODEL]) - set(index)
    assert not missing, f"repository index lacks {sorted(missing)}: {sorted(index)}"


def test_index_shows_loaded_models_ready(client, protocol):
    index = repository_index(client, protocol)
    not_ready = {m: index[m] for m in GOOD_MODELS if "READY" not in states(index.get(m, []))}
    assert not not_ready, f"models not READY in the index: {not_ready}"


def test_index_shows_version_of_loaded_model(client, protocol):
    index = repository_index(client, protocol)
    assert "1" in {e["version"] for e in index["mlp"]}


def test_index_shows_broken_model_unavailable_with_reason(client, protocol):
    entries = repository_index(client, protocol)[BROKEN_MODEL]
    assert states(entries) == {"UNAVAILABLE"}, entries
    assert any(e["reason"] for e in entries), f"no failure reason given: {entries}"


@pytest.fixture
def mlp_reloaded_afterwards(server):
    """Make sure mlp is loaded again after the test, whatever happened."""
    yield
    c = server.client("http")
    try:
        if not c.is_model_ready("mlp"):
            c.load_model("mlp")
        assert wait_for(lambda: c.is_model_ready("mlp"), 30), "could not reload mlp after the test"
    finally:
        c.close()


def test_unload_then_load_mlp(server, client, protocol, mlp_reloaded_afterwards):
    request = case("mlp", "batch1")
    transport = "grpc" if protocol == "grpc" else "http-binary"

    client.unload_model("mlp")
    assert wait_for(lambda: not client.is_model_ready("mlp"), 10), "mlp still ready after unload"

    # Known to the repository but not loaded: not ready (503 / UNAVAILABLE).
    error = expect_error(transport, "unavailable", infer, server, transport, "mlp", request["request"]["inputs"])
    assert "mlp" in error.message()
    entries = repository_index(client, protocol)["mlp"]
    assert "READY" not in states(entries), entries

    client.load_model("mlp")
    assert client.is_model_ready("mlp") is True, "load_model returned before mlp was ready"
    result = infer(server, transport, "mlp", request["request"]["inputs"])
    assert_response_matches("mlp", result, request["response"])
    assert "READY" in states(repository_index(client, protocol)["mlp"])


def test_unloaded_model_shows_unavailable_in_index(server, client, protocol, mlp_reloaded_afterwards):
    client.unload_model("mlp")
    assert wait_for(lambda: not client.is_model_ready("mlp"), 10)
    assert states(repository_index(client, protocol)["mlp"]) == {"UNAVAILABLE"}


def test_load_is_idempotent_for_a_loaded_model(server, client, protocol):
    client.load_model("identity_fp32")
    assert client.is_model_ready("identity_fp32") is True
    result = infer(server, "grpc" if protocol == "grpc" else "http-binary", "identity_fp32",
                   case("identity_fp32", "single_row")["request"]["inputs"])
    assert_response_matches("identity_fp32", result, case("identity_fp32", "single_row")["response"])


def test_load_unknown_model_fails(client, protocol):
    from tritonclient.utils import InferenceServerException

    with pytest.raises(InferenceServerException) as info:
        client.load_model("no_such_model")
    assert "no_such_model" in (info.value.message() or "")


def test_loading_broken_model_fails_and_it_stays_unavailable(client, protocol):
    from tritonclient.utils import InferenceServerException

    with pytest.raises(InferenceServerException):
        client.load_model(BROKEN_MODEL)
    assert client.is_model_ready(BROKEN_MODEL) is False
    assert states(repository_index(client, protocol)[BROKEN_MODEL]) == {"UNAVAILABLE"}
