"""TensorFlow Serving's APIs on Ferry, driven the way TF Serving users drive
them: gRPC through TF Serving's own client package (tensorflow-serving-api's
PredictionService and ModelService stubs, tensors made by
tf.make_tensor_proto), and REST with the request bodies TF Serving's REST
documentation shows. Every prediction is compared with what the v2 endpoint
(tritonclient) answers for the same input.

The server here serves:
  mlp            versions 1 and 2, labels stable=1 and canary=2
  half_plus_two  y = 0.5 x + 2 (TF Serving's demo model, as ONNX)
  multi_io, strings, classifier_no_zipmap (the suite's fixtures)
"""

from __future__ import annotations

import base64
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
import tritonclient.http as httpclient
from tensorflow.core.framework import tensor_pb2
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from conformance_support import FIXTURES, FLOAT_TOLERANCE, add_model, case, start_server, stop_server

HALF_PLUS_TWO = FIXTURES.parents[2] / "tests" / "conformance" / "fixtures" / "half_plus_two.onnx"
MLP_CONFIG = """
max_batch_size: 8
version_policy: { all: {} }
parameters { key: "version_labels" value: { string_value: "stable=1, canary=2" } }
"""


@pytest.fixture(scope="module")
def tf_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ferry-tfserving")
    repo = root / "models"
    for version in ("1", "2"):
        (repo / "mlp" / version).mkdir(parents=True)
        (repo / "mlp" / version / "model.onnx").write_bytes((FIXTURES / "mlp.onnx").read_bytes())
    (repo / "mlp" / "config.pbtxt").write_text(MLP_CONFIG)
    add_model(repo, "half_plus_two", HALF_PLUS_TWO)
    for name in ("multi_io", "strings", "classifier_no_zipmap"):
        add_model(repo, name, FIXTURES / f"{name}.onnx")
    models = ["mlp", "half_plus_two", "multi_io", "strings", "classifier_no_zipmap"]
    server = start_server(repo, root / "ferry.log", ["--default-max-batch-size", "64"], models)
    yield server
    assert stop_server(server) == 0, server.log_tail()


@pytest.fixture(scope="module")
def channel(tf_server):
    with grpc.insecure_channel(tf_server.grpc_url) as opened:
        yield opened


@pytest.fixture(scope="module")
def prediction(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def model_service(channel):
    return model_service_pb2_grpc.ModelServiceStub(channel)


def rest(server, method: str, path: str, body=None):
    url = f"{server.http_base()}/v1/models/{path}"
    return requests.request(method, url, json=body, timeout=30)


def v2_outputs(server, model: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the v2 endpoint answers for the same tensors (tritonclient, binary data)."""
    client = httpclient.InferenceServerClient(server.http_url)
    try:
        requested = []
        for name, value in inputs.items():
            datatype = "BYTES" if value.dtype == np.object_ else {np.float32: "FP32", np.int64: "INT64"}[value.dtype.type]
            tensor = httpclient.InferInput(name, list(value.shape), datatype)
            tensor.set_data_from_numpy(value, binary_data=True)
            requested.append(tensor)
        result = client.infer(model, requested)
        return {output["name"]: result.as_numpy(output["name"]) for output in result.get_response()["outputs"]}
    finally:
        client.close()


MLP_INPUT = np.array(case("mlp", "batch3")["request"]["inputs"][0]["data"], dtype=np.float32).reshape(3, 64)
MLP_EXPECTED = np.array(case("mlp", "batch3")["response"]["outputs"][0]["data"], dtype=np.float32).reshape(3, 16)


# --- gRPC: PredictionService / ModelService ---------------------------------


def predict_request(model: str, inputs: dict, *, version=None, label=None, signature=None, output_filter=()):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    if signature is not None:
        request.model_spec.signature_name = signature
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(value if isinstance(value, tensor_pb2.TensorProto) else tf.make_tensor_proto(value))
    request.output_filter.extend(output_filter)
    return request


def test_grpc_predict_matches_v2_and_reference(tf_server, prediction):
    response = prediction.Predict(predict_request("mlp", {"input": MLP_INPUT}), timeout=30)
    output = tf.make_ndarray(response.outputs["output"])
    assert output.dtype == np.float32 and output.shape == (3, 16)
    np.testing.assert_allclose(output, MLP_EXPECTED, **FLOAT_TOLERANCE)
    np.testing.assert_array_equal(output, v2_outputs(tf_server, "mlp", {"input": MLP_INPUT})["output"])
    assert response.model_spec.name == "mlp"
    assert response.model_spec.version.value == 2  # the newest version answers
    assert response.model_spec.signature_name == "serving_default"


def test_grpc_predict_typed_fields(prediction):
    # float_val instead of tensor_content, as hand-built clients send it.
    proto = tensor_pb2.TensorProto(dtype=tf.float32.as_datatype_enum)
    proto.tensor_shape.dim.add(size=3)
    proto.tensor_shape.dim.add(size=64)
    proto.float_val.extend(MLP_INPUT.flatten().tolist())
    response = prediction.Predict(predict_request("mlp", {"input": proto}), timeout=30)
    np.testing.assert_allclose(tf.make_ndarray(response.outputs["output"]), MLP_EXPECTED, **FLOAT_TOLERANCE)


@pytest.mark.parametrize("label, version", [("stable", 1), ("canary", 2)])
def test_grpc_version_labels(prediction, label, version):
    response = prediction.Predict(predict_request("mlp", {"input": MLP_INPUT}, label=label), timeout=30)
    assert response.model_spec.version.value == version
    by_number = prediction.Predict(predict_request("mlp", {"input": MLP_INPUT}, version=version), timeout=30)
    assert by_number.model_spec.version.value == version


def test_grpc_output_filter_and_strings(tf_server, prediction):
    inputs = {
        "a": np.arange(8, dtype=np.float32).reshape(2, 4),
        "b": np.array([3, -4], dtype=np.int64),
        "c": np.array([b"caf\xc3\xa9", b"\xff\xferaw"], dtype=np.object_),
    }
    response = prediction.Predict(predict_request("multi_io", inputs, output_filter=["sum", "c_copy"]), timeout=30)
    assert set(response.outputs) == {"sum", "c_copy"}
    expected = v2_outputs(tf_server, "multi_io", inputs)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["sum"]), expected["sum"])
    assert list(tf.make_ndarray(response.outputs["c_copy"])) == [b"caf\xc3\xa9", b"\xff\xferaw"]


def test_grpc_metadata(prediction):
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "mlp"
    request.metadata_field.append("signature_def")
    response = prediction.GetModelMetadata(request, timeout=30)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    signature = signatures.signature_def["serving_default"]
    assert signature.method_name == "tensorflow/serving/predict"
    assert signature.inputs["input"].dtype == tf.float32.as_datatype_enum
    assert [d.size for d in signature.inputs["input"].tensor_shape.dim] == [-1, 64]
    assert [d.size for d in signature.outputs["output"].tensor_shape.dim] == [-1, 16]
    assert response.model_spec.version.value == 2


def test_grpc_model_status(model_service):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "mlp"
    response = model_service.GetModelStatus(request, timeout=30)
    states = {s.version: get_model_status_pb2.ModelVersionStatus.State.Name(s.state) for s in response.model_version_status}
    assert states == {1: "AVAILABLE", 2: "AVAILABLE"}
    request.model_spec.version_label = "stable"
    response = model_service.GetModelStatus(request, timeout=30)
    assert [s.version for s in response.model_version_status] == [1]


@pytest.mark.parametrize(
    "request_args, code, words",
    [
        ({"model": "nope", "inputs": {"input": MLP_INPUT}}, grpc.StatusCode.NOT_FOUND, "unknown model 'nope'"),
        ({"model": "mlp", "inputs": {"input": MLP_INPUT}, "label": "beta"}, grpc.StatusCode.NOT_FOUND, "no version label 'beta'"),
        ({"model": "mlp", "inputs": {"input": MLP_INPUT}, "version": 7}, grpc.StatusCode.NOT_FOUND, "no version 7"),
        ({"model": "mlp", "inputs": {"input": MLP_INPUT}, "signature": "classify"}, grpc.StatusCode.INVALID_ARGUMENT, "no signature 'classify'"),
        ({"model": "mlp", "inputs": {"input": MLP_INPUT.astype(np.float64)}}, grpc.StatusCode.INVALID_ARGUMENT, "datatype FP32"),
        ({"model": "mlp", "inputs": {"x": MLP_INPUT}}, grpc.StatusCode.INVALID_ARGUMENT, "has no input named 'x'"),
        ({"model": "mlp", "inputs": {"input": np.zeros((3, 64), np.complex64)}}, grpc.StatusCode.INVALID_ARGUMENT, "no ONNX counterpart"),
    ],
)
def test_grpc_errors(prediction, request_args, code, words):
    model = request_args.pop("model")
    inputs = request_args.pop("inputs")
    with pytest.raises(grpc.RpcError) as caught:
        prediction.Predict(predict_request(model, inputs, **request_args), timeout=30)
    assert caught.value.code() == code, caught.value.details()
    assert words in caught.value.details()


# --- REST ---------------------------------------------------------------------


def test_rest_documented_examples(tf_server):
    # TF Serving's REST documentation, with its demo model half_plus_two.
    answer = rest(tf_server, "POST", "half_plus_two:predict", {"instances": [1.0, 2.0, 5.0]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": [2.5, 3.0, 4.5]}
    answer = rest(tf_server, "POST", "half_plus_two:regress", {"examples": [{"x": 1.0}, {"x": 2.0}]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": [2.5, 3.0]}
    answer = rest(tf_server, "POST", "half_plus_two:predict", {"signature_name": "serving_default", "inputs": [1.0, 2.0]})
    assert answer.json() == {"outputs": [2.5, 3.0]}
    status = rest(tf_server, "GET", "half_plus_two").json()
    assert status == {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


@pytest.mark.parametrize("path", ["mlp:predict", "mlp/versions/2:predict", "mlp/labels/canary:predict"])
def test_rest_row_and_columnar_match_v2(tf_server, path):
    expected = v2_outputs(tf_server, "mlp", {"input": MLP_INPUT})["output"]
    rows = rest(tf_server, "POST", path, {"instances": MLP_INPUT.tolist()})
    assert rows.status_code == 200, rows.text
    np.testing.assert_array_equal(np.array(rows.json()["predictions"], dtype=np.float32), expected)
    columns = rest(tf_server, "POST", path, {"inputs": {"input": MLP_INPUT.tolist()}})
    assert columns.status_code == 200, columns.text
    np.testing.assert_array_equal(np.array(columns.json()["outputs"], dtype=np.float32), expected)


def test_rest_named_inputs_and_b64(tf_server):
    # The documentation's row example names every input per instance and sends
    # binary strings as {"b64": ...}; outputs come back as one object per row.
    raw = b"\xff\xferaw"
    body = {
        "instances": [
            {"a": [1, 2, 3, 4], "b": 3, "c": "café"},
            {"a": [5, 6, 7, 8], "b": -4, "c": {"b64": base64.b64encode(raw).decode()}},
        ]
    }
    answer = rest(tf_server, "POST", "multi_io:predict", body)
    assert answer.status_code == 200, answer.text
    rows = answer.json()["predictions"]
    expected = v2_outputs(
        tf_server,
        "multi_io",
        {
            "a": np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype=np.float32),
            "b": np.array([3, -4], dtype=np.int64),
            "c": np.array(["café".encode(), raw], dtype=np.object_),
        },
    )
    assert [row["sum"] for row in rows] == expected["sum"].tolist()
    assert [row["b_doubled"] for row in rows] == expected["b_doubled"].tolist()
    assert [row["b_positive"] for row in rows] == [True, False]
    # Text stays text; bytes that are not UTF-8 come back as b64, unaltered.
    assert rows[0]["c_copy"] == "café"
    assert base64.b64decode(rows[1]["c_copy"]["b64"]) == raw
    columns = rest(tf_server, "POST", "multi_io:predict", {"inputs": {"a": [[1, 2, 3, 4]], "b": [3], "c": ["x"]}})
    assert columns.status_code == 200, columns.text
    assert set(columns.json()["outputs"]) == {"sum", "b_doubled", "b_positive", "c_copy", "a_as_fp64"}


def test_rest_classify(tf_server):
    features = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    answer = rest(tf_server, "POST", "classifier_no_zipmap:classify", {"examples": [{"input": f} for f in features]})
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    expected = v2_outputs(tf_server, "classifier_no_zipmap", {"input": np.array(features, dtype=np.float32)})["probabilities"]
    assert [[label for label, _ in row] for row in result] == [["0", "1", "2"]] * 2
    np.testing.assert_array_equal(np.array([[score for _, score in row] for row in result], dtype=np.float32), expected)


def test_rest_metadata_and_labels(tf_server):
    metadata = rest(tf_server, "GET", "mlp/labels/stable/metadata").json()
    assert metadata["model_spec"] == {"name": "mlp", "signature_name": "", "version": "1"}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["input"]["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in signature["inputs"]["input"]["tensor_shape"]["dim"]] == ["-1", "64"]
    status = rest(tf_server, "GET", "mlp/versions/2").json()
    assert [s["version"] for s in status["model_version_status"]] == ["2"]


@pytest.mark.parametrize(
    "method, path, body, status, words",
    [
        ("GET", "nope", None, 404, "unknown model 'nope'"),
        ("POST", "nope:predict", {"instances": [1.0]}, 404, "unknown model 'nope'"),
        ("POST", "mlp/labels/beta:predict", {"instances": [[0.0] * 64]}, 404, "no version label 'beta'"),
        ("POST", "mlp:predict", {"instances": [[0.0] * 64], "inputs": [[0.0] * 64]}, 400, "both"),
        ("POST", "mlp:predict", {"instances": [[0.0] * 64, [0.0] * 63]}, 400, "rows of a batch have one shape"),
        ("POST", "mlp:predict", {"inputs": [[0.0] * 64, [0.0] * 63]}, 400, "ragged"),
        ("POST", "mlp:predict", {"instances": [[0.0] * 63]}, 400, "does not fit"),
        ("POST", "mlp:predict", {"signature_name": "other", "instances": [[0.0] * 64]}, 400, "no signature 'other'"),
        ("POST", "mlp:predict", {"instances": [{"b64": "AAAA"}]}, 400, "only DT_STRING"),
        ("POST", "mlp:regress", {"examples": [{"input": [0.0] * 64}]}, 400, "no output :regress can read"),
        ("POST", "multi_io:predict", {"instances": [[1, 2, 3, 4]]}, 400, "each instance must be an object"),
        ("POST", "half_plus_two:classify", {"examples": [{"x": 1.0}]}, 400, "no output :classify can read"),
        ("POST", "half_plus_two:regress", {"examples": [{"y": 1.0}]}, 400, "has no feature 'x'"),
    ],
)
def test_rest_errors(tf_server, method, path, body, status, words):
    answer = rest(tf_server, method, path, body)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]


def test_statistics_count_tf_requests(tf_server, prediction):
    # One admission core: TF requests show in the v2 statistics like v2 requests.
    def count():
        stats = requests.get(f"{tf_server.http_base()}/v2/models/half_plus_two/stats", timeout=10).json()
        return stats["model_stats"][0]["inference_stats"]["success"]["count"]

    before = count()
    rest(tf_server, "POST", "half_plus_two:predict", {"instances": [1.0]})
    prediction.Predict(predict_request("half_plus_two", {"x": np.array([1.0], np.float32)}), timeout=30)
    assert count() == before + 2


def test_rest_status_of_a_model_that_failed_to_load(server):
    # The main server's `broken` model (a truncated model.onnx): END, with the load error.
    answer = requests.get(f"{server.http_base()}/v1/models/broken", timeout=10)
    assert answer.status_code == 200, answer.text
    (status,) = answer.json()["model_version_status"]
    assert status["version"] == "1" and status["state"] == "END"
    assert status["status"]["error_code"] == "UNKNOWN" and status["status"]["error_message"], status
    # A loaded model that is unloaded on request is END without an error.
    requests.post(f"{server.http_base()}/v2/repository/models/strings/unload", timeout=30).raise_for_status()
    try:
        unloaded = requests.get(f"{server.http_base()}/v1/models/strings", timeout=10).json()["model_version_status"]
        assert [(s["state"], s["status"]["error_code"]) for s in unloaded] == [("END", "OK")], unloaded
    finally:
        requests.post(f"{server.http_base()}/v2/repository/models/strings/load", timeout=30).raise_for_status()
