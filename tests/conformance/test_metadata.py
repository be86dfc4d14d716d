"""Server metadata, model metadata and the model configuration extension."""

from __future__ import annotations

import pytest
from tritonclient.grpc import model_config_pb2

from conformance_support import expect_error, signature

REQUIRED_EXTENSIONS = {"binary_tensor_data", "model_repository", "statistics", "model_configuration"}


# -- normalised views of the HTTP (dict) and gRPC (protobuf) answers ---------


def server_metadata(client, protocol):
    md = client.get_server_metadata()
    if protocol == "http":
        return md["name"], md["version"], list(md["extensions"])
    return md.name, md.version, list(md.extensions)


def model_metadata(client, protocol, model, version=""):
    md = client.get_model_metadata(model, version)
    if protocol == "http":
        tensors = lambda key: [
            (t["name"], t["datatype"], [int(d) for d in t["shape"]]) for t in md[key]
        ]
        return {
            "name": md["name"],
            "versions": list(md.get("versions", [])),
            "platform": md["platform"],
            "inputs": tensors("inputs"),
            "outputs": tensors("outputs"),
        }
    tensors = lambda items: [(t.name, t.datatype, [int(d) for d in t.shape]) for t in items]
    return {
        "name": md.name,
        "versions": list(md.versions),
        "platform": md.platform,
        "inputs": tensors(md.inputs),
        "outputs": tensors(md.outputs),
    }


def model_config(client, protocol, model):
    """{name, platform, backend, max_batch_size, input, output} with tensors as
    (name, "TYPE_X", dims) — HTTP gives JSON, gRPC a ModelConfig protobuf."""
    if protocol == "http":
        cfg = client.get_model_config(model)
        tensors = lambda key: [
            (t["name"], t["data_type"], [int(d) for d in t["dims"]]) for t in cfg.get(key, [])
        ]
        return {
            "name": cfg.get("name"),
            "platform": cfg.get("platform", ""),
            "backend": cfg.get("backend", ""),
            "max_batch_size": int(cfg.get("max_batch_size", 0)),
            "input": tensors("input"),
            "output": tensors("output"),
        }
    cfg = client.get_model_config(model).config
    name_of = model_config_pb2.DataType.Name
    tensors = lambda items: [(t.name, name_of(t.data_type), [int(d) for d in t.dims]) for t in items]
    return {
        "name": cfg.name,
        "platform": cfg.platform,
        "backend": cfg.backend,
        "max_batch_size": cfg.max_batch_size,
        "input": tensors(cfg.input),
        "output": tensors(cfg.output),
    }


# -- server metadata ----------------------------------------------------------


def test_server_metadata_has_name_and_version(client, protocol):
    name, version, _ = server_metadata(client, protocol)
    assert isinstance(name, str) and name
    assert isinstance(version, str) and version


def test_server_metadata_lists_required_extensions(client, protocol):
    _, _, extensions = server_metadata(client, protocol)
    missing = REQUIRED_EXTENSIONS - set(extensions)
    assert not missing, f"extensions {extensions} lack {sorted(missing)}"


# -- model metadata -----------------------------------------------------------


def test_mlp_metadata_names_the_model(client, protocol):
    md = model_metadata(client, protocol, "mlp")
    assert md["name"] == "mlp"
    assert "1" in md["versions"]


def test_mlp_metadata_platform_is_onnxruntime_onnx(client, protocol):
    assert model_metadata(client, protocol, "mlp")["platform"] == "onnxruntime_onnx"


def test_mlp_metadata_inputs(client, protocol):
    assert model_metadata(client, protocol, "mlp")["inputs"] == [("input", "FP32", [-1, 64])]


def test_mlp_metadata_outputs(client, protocol):
    assert model_metadata(client, protocol, "mlp")["outputs"] == [("output", "FP32", [-1, 16])]


def test_mlp_version_1_metadata(client, protocol):
    assert model_metadata(client, protocol, "mlp", "1")["name"] == "mlp"


@pytest.mark.parametrize("model", ["multi_io", "identity_bytes", "identity_bf16", "strings"])
def test_fixture_metadata_matches_onnx_signature(client, protocol, model):
    md = model_metadata(client, protocol, model)
    sig = signature(model)
    assert md["inputs"] == [(t["name"], t["datatype"], t["shape"]) for t in sig["inputs"]]
    assert md["outputs"] == [(t["name"], t["datatype"], t["shape"]) for t in sig["outputs"]]


def test_digits_metadata_includes_batch_dimension(client, protocol):
    # config.pbtxt: max_batch_size 64, input dims [64], outputs label [1]
    # reshaped to [] and probabilities [10]: metadata shows the batch dim -1.
    # Triton builds metadata shapes from `dims` ([-1, 1] for label); the
    # reshaped [-1] is accepted too.
    md = model_metadata(client, protocol, "digits")
    assert md["inputs"] == [("input", "FP32", [-1, 64])]
    outputs = {n: (d, s) for n, d, s in md["outputs"]}
    assert set(outputs) == {"label", "probabilities"}
    assert outputs["label"] in (("INT64", [-1, 1]), ("INT64", [-1]))
    assert outputs["probabilities"] == ("FP32", [-1, 10])


def test_unknown_model_metadata_is_not_found(client, protocol):
    error = expect_error(protocol, "not_found", client.get_model_metadata, "no_such_model")
    assert "no_such_model" in error.message()


# -- model configuration -------------------------------------------------------


def test_mlp_config_names_the_model_and_platform(client, protocol):
    cfg = model_config(client, protocol, "mlp")
    assert cfg["name"] == "mlp"
    assert cfg["platform"] == "onnxruntime_onnx" or cfg["backend"] == "onnxruntime"


def test_mlp_config_batching_and_dims_agree(client, protocol):
    # Completed from the ONNX model (no config.pbtxt): either batching is on
    # (max_batch_size > 0, dims without the batch dimension), or off
    # (max_batch_size 0, dims are the full shape).
    cfg = model_config(client, protocol, "mlp")
    assert cfg["max_batch_size"] >= 0
    if cfg["max_batch_size"] > 0:
        assert cfg["input"] == [("input", "TYPE_FP32", [64])]
        assert cfg["output"] == [("output", "TYPE_FP32", [16])]
    else:
        assert cfg["input"] == [("input", "TYPE_FP32", [-1, 64])]
        assert cfg["output"] == [("output", "TYPE_FP32", [-1, 16])]


def test_mlp_config_enables_batching(client, protocol):
    # The ONNX model's first dimension is dynamic ("batch"): like Triton's
    # auto-complete, Ferry turns batching on. perf_analyzer then needs `-b`.
    assert model_config(client, protocol, "mlp")["max_batch_size"] > 0


def test_digits_config_comes_from_config_pbtxt(client, protocol):
    cfg = model_config(client, protocol, "digits")
    assert cfg["name"] == "digits"
    assert cfg["platform"] == "onnxruntime_onnx"
    assert cfg["max_batch_size"] == 64
    assert cfg["input"] == [("input", "TYPE_FP32", [64])]
    assert cfg["output"] == [
        ("label", "TYPE_INT64", [1]),
        ("probabilities", "TYPE_FP32", [10]),
    ]


def test_grpc_model_config_is_a_model_config_proto(server):
    # perf_analyzer reads this RPC and converts the proto to JSON by field
    # name, so field numbers must be Triton's (see model_config.proto).
    c = server.client("grpc")
    try:
        response = c.get_model_config("mlp")
        assert isinstance(response.config, model_config_pb2.ModelConfig)
        as_json = c.get_model_config("mlp", as_json=True)
        assert as_json["config"]["name"] == "mlp"
        assert [i["name"] for i in as_json["config"]["input"]] == ["input"]
        assert [o["name"] for o in as_json["config"]["output"]] == ["output"]
    finally:
        c.close()


def test_unknown_model_config_is_not_found(client, protocol):
    error = expect_error(protocol, "not_found", client.get_model_config, "no_such_model")
    assert "no_such_model" in error.message()
