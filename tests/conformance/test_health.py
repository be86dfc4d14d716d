"""Health endpoints: server live/ready, model ready (KServe v2 health API)."""

from __future__ import annotations

import pytest
import requests
from tritonclient.utils import InferenceServerException

from conformance_support import BROKEN_MODEL, GOOD_MODELS, GRPC_STATUS, HTTP_STATUS


def test_server_is_live(client):
    assert client.is_server_live() is True


@pytest.mark.slow
def test_server_is_ready_when_every_model_loaded(limited_server, protocol):
    # The limited server's repository holds only mlp, which loads; the main
    # server's `broken` model may legitimately make /v2/health/ready false.
    c = limited_server.client(protocol)
    try:
        assert c.is_server_ready() is True
    finally:
        c.close()


def test_server_ready_answers_with_a_loaded_broken_model(server, client):
    # With a model that failed to load, readiness may be either value, but
    # the endpoint must answer (no error, no hang).
    assert client.is_server_ready() in (True, False)


@pytest.mark.slow
def test_http_live_and_ready_endpoints_return_200(limited_server):
    base = limited_server.http_base()
    assert requests.get(base + "/v2/health/live", timeout=10).status_code == 200
    assert requests.get(base + "/v2/health/ready", timeout=10).status_code == 200


def test_mlp_is_ready(client):
    assert client.is_model_ready("mlp") is True


def test_mlp_version_1_is_ready(client):
    assert client.is_model_ready("mlp", "1") is True


@pytest.mark.parametrize("model", GOOD_MODELS)
def test_every_good_model_is_ready(client, model):
    assert client.is_model_ready(model) is True


def test_broken_model_is_not_ready(client):
    assert client.is_model_ready(BROKEN_MODEL) is False


def test_unknown_model_ready_is_http_404(server):
    response = requests.get(server.http_base() + "/v2/models/no_such_model/ready", timeout=10)
    assert str(response.status_code) == HTTP_STATUS["not_found"]


def test_unknown_model_is_not_ready_over_http_client(server):
    # tritonclient.http.is_model_ready maps any non-200 status to False.
    c = server.client("http")
    try:
        assert c.is_model_ready("no_such_model") is False
    finally:
        c.close()


def test_unknown_model_ready_over_grpc_is_not_found_or_false(server):
    # Triton answers ModelReady for an unknown model with ready=false; Ferry has
    # one readiness rule for both protocols, so gRPC says NOT_FOUND as HTTP says
    # 404. Either is accepted, ready=true is not.
    c = server.client("grpc")
    try:
        try:
            ready = c.is_model_ready("no_such_model")
        except InferenceServerException as error:
            assert error.status() == GRPC_STATUS["not_found"], str(error)
        else:
            assert ready is False
    finally:
        c.close()


def test_unknown_model_version_is_not_ready(client):
    try:
        ready = client.is_model_ready("mlp", "999")
    except InferenceServerException as error:
        assert error.status() == GRPC_STATUS["not_found"], str(error)
    else:
        assert ready is False
