"""Inference through the official clients, checked against the reference
responses in Tests/Fixtures/models/*.cases.json.

Every behaviour runs over three transports: HTTP with JSON tensors
(binary_data=False), HTTP with the binary tensor extension (the client's
default), and gRPC (raw_input_contents / raw_output_contents).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conformance_support import (
    EXAMPLES,
    IDENTITY_MODELS,
    TRANSPORTS,
    assert_response_matches,
    assert_tensor_equal,
    case,
    case_names,
    infer,
    response_id,
    response_outputs,
)


@pytest.fixture(params=TRANSPORTS)
def transport(request) -> str:
    return request.param


def run_case(server, transport, model, name, output_names=None):
    c = case(model, name)
    if output_names is None:
        output_names = [o["name"] for o in c["request"].get("outputs", [])] or None
    result = infer(server, transport, model, c["request"]["inputs"], output_names)
    return result, c["response"]


# -- mlp -----------------------------------------------------------------------


@pytest.mark.parametrize("name", case_names("mlp"))
def test_mlp_matches_reference(server, transport, name):
    result, expected = run_case(server, transport, "mlp", name)
    assert_response_matches("mlp", result, expected)


def test_mlp_output_is_float32_array(server, transport):
    result, _ = run_case(server, transport, "mlp", "batch1")
    out = result.as_numpy("output")
    assert out.dtype == np.float32
    assert out.shape == (1, 16)


@pytest.mark.parametrize("transport_name", TRANSPORTS)
def test_response_echoes_request_id(server, transport_name):
    c = case("mlp", "batch1")
    result = infer(server, transport_name, "mlp", c["request"]["inputs"], request_id="req-42")
    assert response_id(result) == "req-42"


def test_response_names_model_and_version(server, transport):
    result, _ = run_case(server, transport, "mlp", "batch1")
    response = result.get_response()
    if isinstance(response, dict):
        name, version = response.get("model_name"), response.get("model_version")
    else:
        name, version = response.model_name, response.model_version
    assert name == "mlp"
    assert version in ("1", "", None)


# -- every datatype through identity models ---------------------------------------


IDENTITY_CASES = [(m, n) for m in IDENTITY_MODELS for n in case_names(m)]


@pytest.mark.parametrize("model,name", IDENTITY_CASES, ids=[f"{m}-{n}" for m, n in IDENTITY_CASES])
def test_identity_roundtrips_datatype(server, transport, model, name):
    if model == "identity_bf16" and transport == "http-json":
        pytest.skip(
            "tritonclient.http refuses BF16 tensors with binary_data=False "
            "(the JSON tensor encoding defines no BF16 form); BF16 is checked over "
            "HTTP binary and gRPC"
        )
    result, expected = run_case(server, transport, model, name)
    assert_response_matches(model, result, expected)


# -- several inputs and outputs: requested-output subsets --------------------------


@pytest.mark.parametrize("name", case_names("multi_io"))
def test_multi_io_returns_requested_outputs_in_order(server, transport, name):
    result, expected = run_case(server, transport, "multi_io", name)
    assert_response_matches("multi_io", result, expected)


def test_multi_io_single_requested_output(server, transport):
    c = case("multi_io", "all_outputs")
    result = infer(server, transport, "multi_io", c["request"]["inputs"], ["b_positive"])
    assert [name for name, _, _ in response_outputs(result)] == ["b_positive"]
    want = next(o for o in c["response"]["outputs"] if o["name"] == "b_positive")
    assert_tensor_equal("multi_io", "b_positive", result.as_numpy("b_positive"), want)


# -- strings (BYTES in, BYTES out) ----------------------------------------------


@pytest.mark.parametrize("name", case_names("strings"))
def test_strings_model_upper_cases(server, transport, name):
    result, expected = run_case(server, transport, "strings", name)
    assert_response_matches("strings", result, expected)


# -- classifier without ZipMap (INT64 labels + FP32 probabilities) --------------


@pytest.mark.parametrize("name", case_names("classifier_no_zipmap"))
def test_classifier_no_zipmap_matches_reference(server, transport, name):
    result, expected = run_case(server, transport, "classifier_no_zipmap", name)
    assert_response_matches("classifier_no_zipmap", result, expected)


# -- the digits example (config.pbtxt with max_batch_size and reshape) ------------


def digits_request():
    request = json.loads((EXAMPLES / "requests" / "digits.json").read_text())
    expected = json.loads((EXAMPLES / "requests" / "digits.expected.json").read_text())
    return request, expected["labels"]


def test_digits_predicts_expected_label(server, transport):
    request, labels = digits_request()
    result = infer(server, transport, "digits", request["inputs"])
    label = result.as_numpy("label")
    assert label is not None, "digits: no 'label' output"
    assert label.reshape(-1).astype(np.int64).tolist() == labels


def test_digits_label_is_reshaped_per_batch_item(server, transport):
    # dims [1] with reshape [] (Triton's semantics for outputs): the model
    # produces [batch] and clients receive the configured dims, [batch, 1].
    request, labels = digits_request()
    result = infer(server, transport, "digits", request["inputs"])
    shapes = {name: (datatype, shape) for name, datatype, shape in response_outputs(result)}
    assert shapes["label"] == ("INT64", [len(labels), 1])
    assert shapes["probabilities"] == ("FP32", [len(labels), 10])


def test_digits_probabilities_agree_with_label(server, transport):
    request, labels = digits_request()
    result = infer(server, transport, "digits", request["inputs"])
    probabilities = result.as_numpy("probabilities").astype(np.float64)
    assert probabilities.shape == (len(labels), 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert probabilities.argmax(axis=1).tolist() == labels
