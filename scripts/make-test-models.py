#!/usr/bin/env python3
"""Generate the ONNX test fixtures in Tests/Fixtures/models/.

Run with the project venv (see scripts/python-env):

    .deps/venv/bin/python scripts/make-test-models.py [--out DIR]

For every model NAME this writes NAME.onnx and NAME.cases.json (format in
Tests/Fixtures/models/README.md). Every reference output in the cases files is
produced by running the Python onnxruntime package (CPUExecutionProvider) on the
exact request inputs; nothing is computed with numpy math. BF16 tensors, which
the Python binding cannot convert to/from numpy, are fed as OrtValues built from
the raw uint16 bits and read back from the raw output buffer of the OrtValue
that onnxruntime returned, so they are ORT results too.

The output is deterministic: fixed seeds, fixed graph/model names, fixed
opsets. The script also writes GENERATED_BY.sha256 (sha256 of this file) so the
Makefile can tell when the fixtures are stale.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import math
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

SCRIPT = Path(__file__).resolve()
REPO_ROOT = SCRIPT.parent.parent
DEFAULT_OUT = REPO_ROOT / "Tests" / "Fixtures" / "models"

EXPECTED_VERSIONS = {"onnx": "1.23.2", "onnxruntime": "1.31.1"}

OPSET = 17          # default ONNX opset for hand-built graphs
IR_VERSION = 8      # IR version matching opset 17; loadable by onnxruntime 1.31.1
ML_OPSET = 3        # ai.onnx.ml opset for skl2onnx conversions
PRODUCER = "ferry-tests"

# --------------------------------------------------------------------------- #
# Datatype tables
# --------------------------------------------------------------------------- #

# KServe v2 datatype -> (ONNX TensorProto enum, numpy dtype used to build data)
V2_TYPES = {
    "BOOL": (TensorProto.BOOL, np.bool_),
    "UINT8": (TensorProto.UINT8, np.uint8),
    "UINT16": (TensorProto.UINT16, np.uint16),
    "UINT32": (TensorProto.UINT32, np.uint32),
    "UINT64": (TensorProto.UINT64, np.uint64),
    "INT8": (TensorProto.INT8, np.int8),
    "INT16": (TensorProto.INT16, np.int16),
    "INT32": (TensorProto.INT32, np.int32),
    "INT64": (TensorProto.INT64, np.int64),
    "FP16": (TensorProto.FLOAT16, np.float16),
    "BF16": (TensorProto.BFLOAT16, ml_dtypes.bfloat16),
    "FP32": (TensorProto.FLOAT, np.float32),
    "FP64": (TensorProto.DOUBLE, np.float64),
    "BYTES": (TensorProto.STRING, object),
}

# onnxruntime NodeArg.type element name -> KServe v2 datatype
ORT_ELEM_TO_V2 = {
    "bool": "BOOL",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "float16": "FP16",
    "bfloat16": "BF16",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
}

FLOAT_TYPES = {"FP16", "BF16", "FP32", "FP64"}
INT_TYPES = {"UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64"}


def tensor(v2type: str, values, shape) -> np.ndarray:
    """Build a numpy array of the given v2 datatype (values rounded to that type)."""
    _, dtype = V2_TYPES[v2type]
    if v2type == "BYTES":
        arr = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            arr[i] = v
        return arr.reshape(shape)
    if v2type in INT_TYPES:
        info = np.iinfo(dtype)
        for v in values:
            if not (info.min <= v <= info.max):
                raise ValueError(f"{v} out of range for {v2type}")
    if v2type == "BF16":
        # Round through float32 (ml_dtypes rounds to nearest even).
        return np.asarray(values, dtype=np.float32).astype(ml_dtypes.bfloat16).reshape(shape)
    return np.asarray(values, dtype=dtype).reshape(shape)


# --------------------------------------------------------------------------- #
# JSON encoding of tensors
# --------------------------------------------------------------------------- #

def json_scalars(v2type: str, arr: np.ndarray) -> list:
    """Flatten a tensor (row-major) to JSON-compatible scalars, exactly."""
    flat = arr.reshape(-1)
    if v2type == "BOOL":
        return [bool(x) for x in flat]
    if v2type in INT_TYPES:
        return [int(x) for x in flat]
    if v2type in FLOAT_TYPES:
        out = []
        for x in flat:
            f = float(x)  # exact: every fp16/bf16/fp32 value is a float64
            if not math.isfinite(f):
                raise ValueError(f"non-finite value {f} in {v2type} tensor")
            out.append(f)
        return out
    if v2type == "BYTES":
        out = []
        for x in flat:
            if isinstance(x, bytes):
                x = x.decode("utf-8")
            if not isinstance(x, str):
                raise TypeError(f"unexpected string element {x!r}")
            out.append(x)
        return out
    raise ValueError(v2type)


def tensor_json(name: str, v2type: str, arr: np.ndarray) -> dict:
    return {
        "name": name,
        "datatype": v2type,
        "shape": [int(d) for d in arr.shape],
        "data": json_scalars(v2type, arr),
    }


# --------------------------------------------------------------------------- #
# Running onnxruntime
# --------------------------------------------------------------------------- #

def make_session(model_bytes: bytes) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def parse_ort_type(t: str) -> tuple[str, str | None]:
    """Return (v2 datatype, onnx_type or None) for an ORT NodeArg.type string."""
    if t.startswith("tensor(") and t.endswith(")"):
        elem = t[len("tensor("):-1]
        if elem not in ORT_ELEM_TO_V2:
            raise ValueError(f"unsupported tensor element type {t}")
        return ORT_ELEM_TO_V2[elem], None
    # Non-tensor values (e.g. ZipMap's seq(map(...))) are served as JSON strings.
    return "BYTES", t


def signature_entry(arg) -> dict:
    v2type, onnx_type = parse_ort_type(arg.type)
    if onnx_type is not None:
        entry = {"name": arg.name, "datatype": "BYTES", "shape": [-1], "dim_names": [None],
                 "onnx_type": onnx_type}
        return entry
    shape, names = [], []
    for d in arg.shape:
        if isinstance(d, int) and d >= 0:
            shape.append(d)
            names.append(None)
        elif isinstance(d, str) and d:
            shape.append(-1)
            names.append(d)
        else:  # None / unnamed dynamic dimension
            shape.append(-1)
            names.append(None)
    return {"name": arg.name, "datatype": v2type, "shape": shape, "dim_names": names}


def ortvalue_bf16_to_numpy(value: ort.OrtValue) -> np.ndarray:
    """Copy a bfloat16 OrtValue's buffer (which ORT cannot convert to numpy)."""
    shape = tuple(value.shape())
    count = int(np.prod(shape, dtype=np.int64))
    if count == 0:
        return np.zeros(shape, dtype=ml_dtypes.bfloat16)
    nbytes = value.tensor_size_in_bytes()
    assert nbytes == 2 * count, (nbytes, count)
    raw = ctypes.string_at(value.data_ptr(), nbytes)
    return np.frombuffer(raw, dtype=np.uint16).copy().view(ml_dtypes.bfloat16).reshape(shape)


def run_ort(sess: ort.InferenceSession, feeds: dict[str, tuple[str, np.ndarray]],
            output_names: list[str]) -> list:
    """Run the session; returns the raw outputs in the order of output_names."""
    out_types = {o.name: parse_ort_type(o.type)[0] for o in sess.get_outputs()}
    uses_bf16 = any(t == "BF16" for t, _ in feeds.values()) or \
        any(out_types[n] == "BF16" for n in output_names)
    if not uses_bf16:
        return sess.run(output_names, {n: a for n, (_, a) in feeds.items()})
    # bfloat16 path: feed/fetch OrtValues (numpy has no native bfloat16).
    ort_feeds = {}
    for n, (t, a) in feeds.items():
        if t == "BF16":
            bits = np.ascontiguousarray(a).view(np.uint16)
            ort_feeds[n] = ort.OrtValue.ortvalue_from_numpy_with_onnx_type(bits, TensorProto.BFLOAT16)
        elif t == "BYTES":
            raise NotImplementedError("string inputs together with bfloat16 are not supported here")
        else:
            ort_feeds[n] = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(a))
    values = sess.run_with_ort_values(output_names, ort_feeds)
    results = []
    for n, v in zip(output_names, values):
        if out_types[n] == "BF16":
            results.append(ortvalue_bf16_to_numpy(v))
        else:
            results.append(v.numpy())
    return results


def zipmap_json_strings(rows) -> list[str]:
    out = []
    for row in rows:
        d = {}
        for k, v in row.items():
            key = k.decode("utf-8") if isinstance(k, bytes) else str(k)
            f = float(np.float32(v))  # value is an ORT float32; write it exactly
            if float(v) != f:
                raise ValueError(f"zipmap value {v!r} is not a float32")
            d[key] = f
        out.append(json.dumps(d, ensure_ascii=False))
    return out


def output_json(sig: dict, value) -> dict:
    if "onnx_type" in sig:
        strings = zipmap_json_strings(value)
        return {"name": sig["name"], "datatype": "BYTES", "shape": [len(strings)], "data": strings}
    arr = np.asarray(value) if sig["datatype"] != "BF16" else value
    if sig["datatype"] == "BYTES":
        arr = np.asarray(value, dtype=object)
    check_dtype(sig["datatype"], arr)
    return tensor_json(sig["name"], sig["datatype"], arr)


def check_dtype(v2type: str, arr: np.ndarray):
    _, dtype = V2_TYPES[v2type]
    if v2type == "BYTES":
        assert arr.dtype == object, arr.dtype
    else:
        assert arr.dtype == np.dtype(dtype), (v2type, arr.dtype)


def model_metadata(sess: ort.InferenceSession, model: onnx.ModelProto) -> dict:
    meta = sess.get_modelmeta()
    version = meta.version if model.HasField("model_version") else None
    if version == 0:
        # ORT reports 0 for "not set"; keep fixtures unambiguous.
        raise ValueError("fixtures must not set model_version to 0")
    return {
        "producer_name": meta.producer_name,
        "graph_name": meta.graph_name,
        "domain": meta.domain,
        "description": meta.description,
        "version": version,
        "custom": dict(sorted(meta.custom_metadata_map.items())),
    }


# --------------------------------------------------------------------------- #
# Writing files
# --------------------------------------------------------------------------- #

def dumps_pretty(obj, indent: int = 0) -> str:
    """JSON with nested structure indented but lists of scalars on one line."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dumps_pretty(v, indent + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(x, (dict, list)) for x in obj):
            return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
        items = [f"{inner}{dumps_pretty(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


class Writer:
    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.written: list[str] = []
        self.summary: list[str] = []

    def write_bytes(self, name: str, data: bytes):
        (self.out_dir / name).write_bytes(data)
        self.written.append(name)

    def write_text(self, name: str, text: str):
        (self.out_dir / name).write_text(text, encoding="utf-8")
        self.written.append(name)

    def add_model(self, name: str, model: onnx.ModelProto, cases: list[dict]):
        """Check the model, run every case through ORT and write both files.

        cases: [{"name": str, "inputs": [(input_name, v2type, ndarray), ...],
                 "outputs": optional [output_name, ...]}]
        """
        onnx.checker.check_model(model, full_check=True)
        data = model.SerializeToString(deterministic=True)
        sess = make_session(data)

        sig_in = [signature_entry(a) for a in sess.get_inputs()]
        sig_out = [signature_entry(a) for a in sess.get_outputs()]
        sig_out_by_name = {s["name"]: s for s in sig_out}
        sig_in_by_name = {s["name"]: s for s in sig_in}

        case_json = []
        for case in cases:
            feeds = {}
            req_inputs = []
            for in_name, v2type, arr in case["inputs"]:
                want = sig_in_by_name[in_name]["datatype"]
                if want != v2type:
                    raise ValueError(f"{name}/{case['name']}: {in_name} is {want}, not {v2type}")
                check_dtype(v2type, arr)
                feeds[in_name] = (v2type, arr)
                req_inputs.append(tensor_json(in_name, v2type, arr))
            requested = case.get("outputs")
            out_names = requested if requested is not None else [s["name"] for s in sig_out]
            values = run_ort(sess, feeds, out_names)
            request = {"inputs": req_inputs}
            if requested is not None:
                request["outputs"] = [{"name": n} for n in requested]
            response = {"outputs": [output_json(sig_out_by_name[n], v)
                                    for n, v in zip(out_names, values)]}
            case_json.append({"name": case["name"], "request": request, "response": response})

        doc = {
            "model": f"{name}.onnx",
            "signature": {"inputs": sig_in, "outputs": sig_out},
            "metadata": model_metadata(sess, model),
            "cases": case_json,
        }
        # Round-trip check: JSON must be strict (no NaN/Inf) and re-readable.
        text = dumps_pretty(doc) + "\n"
        assert json.loads(text) == json.loads(json.dumps(doc, allow_nan=False))
        self.write_bytes(f"{name}.onnx", data)
        self.write_text(f"{name}.cases.json", text)

        def fmt(s):
            return f"{s['name']}:{s['datatype']}{s['shape']}" + (f"({s['onnx_type']})" if "onnx_type" in s else "")
        self.summary.append(f"{name}: in [{', '.join(fmt(s) for s in sig_in)}] "
                            f"out [{', '.join(fmt(s) for s in sig_out)}]")
        return data


# --------------------------------------------------------------------------- #
# Model builders
# --------------------------------------------------------------------------- #

def make_model(graph: onnx.GraphProto, *, opset: int = OPSET, ir_version: int = IR_VERSION,
               doc: str = "", version: int | None = None, domain: str = "",
               extra_opsets: dict[str, int] | None = None,
               custom: dict[str, str] | None = None) -> onnx.ModelProto:
    opsets = [helper.make_opsetid("", opset)]
    for dom, ver in (extra_opsets or {}).items():
        opsets.append(helper.make_opsetid(dom, ver))
    model = helper.make_model(graph, opset_imports=opsets, producer_name=PRODUCER,
                              producer_version="1", ir_version=ir_version)
    model.doc_string = doc
    if domain:
        model.domain = domain
    if version is not None:
        model.model_version = version
    if custom:
        helper.set_model_props(model, custom)
    return model


def vi(name: str, elem: int, shape) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def build_mlp(w: Writer) -> bytes:
    rng = np.random.default_rng(20240601)
    d_in, d_hidden, d_out = 64, 256, 16
    w1 = (rng.standard_normal((d_in, d_hidden)) * np.sqrt(2.0 / d_in)).astype(np.float32)
    b1 = (rng.standard_normal(d_hidden) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((d_hidden, d_out)) * np.sqrt(1.0 / d_hidden)).astype(np.float32)
    b2 = (rng.standard_normal(d_out) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["input", "W1", "B1"], ["hidden_pre"], name="fc1"),
        helper.make_node("Relu", ["hidden_pre"], ["hidden"], name="relu1"),
        helper.make_node("MatMul", ["hidden", "W2"], ["logits_pre"], name="fc2_matmul"),
        helper.make_node("Add", ["logits_pre", "B2"], ["output"], name="fc2_add"),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [vi("input", TensorProto.FLOAT, ["batch", d_in])],
        [vi("output", TensorProto.FLOAT, ["batch", d_out])],
        initializer=[numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(b1, "B1"),
                     numpy_helper.from_array(w2, "W2"), numpy_helper.from_array(b2, "B2")],
        doc_string="input[batch,64] -> Gemm(256) -> Relu -> MatMul+Add(16) -> output[batch,16]",
    )
    model = make_model(graph, doc="Two-layer MLP with fixed random weights (Ferry test fixture).",
                       version=3, domain="dev.ferry.tests",
                       custom={"author": "ferry-tests", "task": "regression"})
    # Inputs are multiples of 1/32 in [-4, 4): exact in float32 and short in JSON.
    irng = np.random.default_rng(7)
    cases = []
    for batch in (1, 3, 64):
        x = (irng.integers(-128, 128, size=(batch, d_in)) / 32.0).astype(np.float32)
        cases.append({"name": f"batch{batch}", "inputs": [("input", "FP32", x)]})
    return w.add_model("mlp", model, cases)


IDENTITY_VALUES = {
    "BOOL": [True, False, True, False, False, True],
    "UINT8": [0, 255, 1, 127, 128, 254],
    "UINT16": [0, 65535, 1, 32767, 32768, 65534],
    "UINT32": [0, 4294967295, 1, 2147483647, 2147483648, 4294967294],
    "UINT64": [0, 18446744073709551615, 1, 9223372036854775807, 9223372036854775808,
               18446744073709551614],
    "INT8": [-128, 127, 0, -1, 1, 42],
    "INT16": [-32768, 32767, 0, -1, 1, 12345],
    "INT32": [-2147483648, 2147483647, 0, -1, 1, 123456789],
    "INT64": [-9223372036854775808, 9223372036854775807, 0, -1, 1, 1234567890123456789],
    "FP16": [-0.0, 65504.0, -65504.0, 6.103515625e-05, 5.960464477539063e-08, 0.1,
             1.0 / 3.0, -2.5, 1024.5],
    "BF16": [-0.0, 3.3895313892515355e38, -3.3895313892515355e38, 1.1754943508222875e-38,
             9.183549615799121e-41, 0.1, 1.0 / 3.0, -2.5, -1.5e10],
    "FP32": [-0.0, 3.4028234663852886e38, -3.4028234663852886e38, 1.1754943508222875e-38,
             1.401298464324817e-45, 0.1, 1.0 / 3.0, -123456.789, 1e30],
    "FP64": [-0.0, 1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308,
             5e-324, 0.1, 1.0 / 3.0, math.pi, -1e300],
    "BYTES": ["", "hello", "héllo wörld", "日本語テキスト", "emoji \U0001F600 \U0001F680",
              "tab\tnewline\nquote\"backslash\\", "Ελληνικά", "a" * 100, " spaces "],
}


def build_identity(w: Writer):
    for v2type, (elem, _) in V2_TYPES.items():
        name = f"identity_{v2type.lower()}"
        graph = helper.make_graph(
            [helper.make_node("Identity", ["x"], ["y"], name="identity")], name,
            [vi("x", elem, ["n", 3])], [vi("y", elem, ["n", 3])])
        model = make_model(graph, doc=f"Identity over a {v2type} tensor [n, 3].")
        values = IDENTITY_VALUES[v2type]
        rows = len(values) // 3
        cases = [
            {"name": "extremes", "inputs": [("x", v2type, tensor(v2type, values, (rows, 3)))]},
            {"name": "single_row", "inputs": [("x", v2type, tensor(v2type, values[3:6], (1, 3)))]},
            {"name": "empty", "inputs": [("x", v2type, tensor(v2type, [], (0, 3)))]},
        ]
        w.add_model(name, model, cases)


CAST_VALUES = {
    # fp16: ties to even around 1.0 (ulp 2^-10), subnormals, near max, -0.
    "FP16": [1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11, 1.0 + 2 ** -11 + 2 ** -20, 0.1, -1.0 / 3.0,
             65504.0, 65519.0, -65500.0, 1e-7, 3e-8, -0.0, 2049.0],
    # bf16: ties to even around 1.0 (ulp 2^-7), large, tiny, -0.
    "BF16": [1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8, 1.0 + 2 ** -8 + 2 ** -20, 0.1, -1.0 / 3.0,
             3.3e38, -1.5e10, 1e-38, 1e-40, -0.0, 257.0, 65535.0],
    "FP64": [0.1, -1.0 / 3.0, 3.4028234663852886e38, 1.401298464324817e-45, -0.0, 16777217.0],
    # float -> int casts truncate toward zero; keep values in range.
    "INT32": [2.5, -2.5, 2.9999, -0.9, 0.0, 1e9, -2147483520.0, 2147483520.0, 16777217.0, -7.75],
    "INT64": [2.5, -2.5, 1e18, -9.2e18, 0.7, -123456789.9],
    "UINT8": [0.0, 0.9, 1.5, 254.99, 255.0, 128.5],
    "BOOL": [0.0, -0.0, 1.0, -1.0, 1e-45, 0.5],
}


def build_casts(w: Writer):
    for v2type, values in CAST_VALUES.items():
        elem = V2_TYPES[v2type][0]
        name = f"cast_fp32_to_{v2type.lower()}"
        graph = helper.make_graph(
            [helper.make_node("Cast", ["x"], ["y"], to=elem, name="cast")], name,
            [vi("x", TensorProto.FLOAT, ["n"])], [vi("y", elem, ["n"])])
        model = make_model(graph, doc=f"Cast FP32 -> {v2type}; reference values computed by onnxruntime.")
        x = np.asarray(values, dtype=np.float32)
        w.add_model(name, model, [{"name": "rounding", "inputs": [("x", "FP32", x)]}])


def build_strings(w: Writer):
    graph = helper.make_graph(
        [helper.make_node("StringNormalizer", ["text"], ["upper"], name="normalize",
                          case_change_action="UPPER", is_case_sensitive=0, locale="C.UTF-8")],
        "strings",
        [vi("text", TensorProto.STRING, ["n"])], [vi("upper", TensorProto.STRING, ["n"])])
    model = make_model(graph, doc="StringNormalizer(UPPER) over a 1-D string tensor.")
    texts = ["hello world", "", "MiXeD Case 123", "héllo wörld", "straße", "日本語", "emoji \U0001F600"]
    cases = [
        {"name": "mixed", "inputs": [("text", "BYTES", tensor("BYTES", texts, (len(texts),)))]},
        {"name": "single_ascii", "inputs": [("text", "BYTES", tensor("BYTES", ["ferry"], (1,)))]},
    ]
    w.add_model("strings", model, cases)


def build_multi_io(w: Writer):
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes_1")
    two = numpy_helper.from_array(np.array(2, dtype=np.int64), "two")
    zero = numpy_helper.from_array(np.array(0, dtype=np.int64), "zero")
    nodes = [
        helper.make_node("ReduceSum", ["a", "axes_1"], ["sum"], keepdims=0, name="sum"),
        helper.make_node("Mul", ["b", "two"], ["b_doubled"], name="double"),
        helper.make_node("Greater", ["b", "zero"], ["b_positive"], name="positive"),
        helper.make_node("Identity", ["c"], ["c_copy"], name="copy"),
        helper.make_node("Cast", ["a"], ["a_as_fp64"], to=TensorProto.DOUBLE, name="to_fp64"),
    ]
    graph = helper.make_graph(
        nodes, "multi_io",
        [vi("a", TensorProto.FLOAT, ["n", 4]), vi("b", TensorProto.INT64, ["n"]),
         vi("c", TensorProto.STRING, ["n"])],
        [vi("sum", TensorProto.FLOAT, ["n"]), vi("b_doubled", TensorProto.INT64, ["n"]),
         vi("b_positive", TensorProto.BOOL, ["n"]), vi("c_copy", TensorProto.STRING, ["n"]),
         vi("a_as_fp64", TensorProto.DOUBLE, ["n", 4])],
        initializer=[axes, two, zero])
    model = make_model(graph, doc="Three inputs of different types, five outputs.", version=1)
    a = np.array([[0.5, 1.25, -2.0, 0.1], [1e-3, 3.0, 4.5, -0.0], [100.0, -50.25, 0.3, 7.0]],
                 dtype=np.float32)
    b = np.array([3, -4, 0], dtype=np.int64)
    c = tensor("BYTES", ["alpha", "", "γάμμα"], (3,))
    inputs = [("a", "FP32", a), ("b", "INT64", b), ("c", "BYTES", c)]
    cases = [
        {"name": "all_outputs", "inputs": inputs},
        {"name": "requested_subset", "inputs": inputs, "outputs": ["sum", "c_copy"]},
        {"name": "requested_reordered", "inputs": inputs, "outputs": ["a_as_fp64", "b_doubled"]},
    ]
    w.add_model("multi_io", model, cases)


def build_symbolic_dims(w: Writer):
    zero = numpy_helper.from_array(np.array(0, dtype=np.int64), "zero")
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes_1")
    nodes = [
        helper.make_node("ReduceMean", ["features"], ["pooled"], axes=[1], keepdims=0, name="pool"),
        helper.make_node("Greater", ["tokens", "zero"], ["mask"], name="mask"),
        helper.make_node("Cast", ["mask"], ["mask_i64"], to=TensorProto.INT64, name="mask_i64"),
        helper.make_node("ReduceSum", ["mask_i64", "axes_1"], ["length"], keepdims=0, name="length"),
    ]
    graph = helper.make_graph(
        nodes, "symbolic_dims",
        [vi("tokens", TensorProto.INT64, ["batch", "seq"]),
         vi("features", TensorProto.FLOAT, ["batch", "seq", 8])],
        [vi("pooled", TensorProto.FLOAT, ["batch", 8]), vi("length", TensorProto.INT64, ["batch"]),
         vi("mask", TensorProto.BOOL, ["batch", "seq"])],
        initializer=[zero, axes])
    model = make_model(graph, doc="Symbolic batch/seq dims; pooled = mean over seq, length = #tokens > 0.")
    rng = np.random.default_rng(11)
    tokens = np.array([[5, 9, 2, 0, 0], [7, 1, 3, 8, 4]], dtype=np.int64)
    features = (rng.integers(-64, 64, size=(2, 5, 8)) / 16.0).astype(np.float32)
    w.add_model("symbolic_dims", model, [
        {"name": "batch2_seq5", "inputs": [("tokens", "INT64", tokens), ("features", "FP32", features)]}])


def build_edge_cases(w: Writer):
    # A graph whose output *is* its input: ONNX Runtime hands back the caller's
    # own input buffer as the output, so a zero-copy wrapper must not take
    # ownership of it.
    graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["negated"], name="neg")], "passthrough",
        [vi("x", TensorProto.FLOAT, ["n", 4])],
        [vi("x", TensorProto.FLOAT, ["n", 4]), vi("negated", TensorProto.FLOAT, ["n", 4])])
    model = make_model(graph, doc="Outputs its input unchanged (graph output = graph input) and negated.")
    x = np.arange(8, dtype=np.float32).reshape(2, 4) / 4
    w.add_model("passthrough", model, [{"name": "two_rows", "inputs": [("x", "FP32", x)]}])

    # A model whose run time the request chooses: a Loop of `iterations`
    # 64x64 matrix products. Tests use it to stop a running request.
    weight = numpy_helper.from_array(np.full((64, 64), 1.0 / 64, dtype=np.float32), "w")
    body = helper.make_graph(
        [helper.make_node("MatMul", ["state_in", "w"], ["state_out"], name="step"),
         helper.make_node("Identity", ["cond_in"], ["cond_out"], name="keep_going")],
        "step",
        [vi("i", TensorProto.INT64, []), vi("cond_in", TensorProto.BOOL, []), vi("state_in", TensorProto.FLOAT, [1, 64])],
        [vi("cond_out", TensorProto.BOOL, []), vi("state_out", TensorProto.FLOAT, [1, 64])])
    true = numpy_helper.from_array(np.array(True), "true")
    graph = helper.make_graph(
        [helper.make_node("Loop", ["iterations", "true", "x"], ["y"], name="loop", body=body)],
        "slow",
        [vi("iterations", TensorProto.INT64, []), vi("x", TensorProto.FLOAT, [1, 64])],
        [vi("y", TensorProto.FLOAT, [1, 64])], initializer=[weight, true])
    model = make_model(graph, doc="Runs `iterations` 64x64 matrix products: its run time is the request's choice.")
    w.add_model("slow", model, [{"name": "three_steps", "inputs": [
        ("iterations", "INT64", np.array(3, dtype=np.int64)),
        ("x", "FP32", np.ones((1, 64), dtype=np.float32))]}])

    # Rank-0 (scalar) input and output.
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"], name="double")], "scalar",
        [vi("x", TensorProto.FLOAT, [])], [vi("y", TensorProto.FLOAT, [])], initializer=[two])
    model = make_model(graph, doc="Doubles a rank-0 (scalar) FP32 input.")
    w.add_model("scalar", model, [{"name": "scalar", "inputs": [("x", "FP32", np.array(1.25, dtype=np.float32))]}])


def iris_data():
    from sklearn.datasets import load_iris
    iris = load_iris()
    return iris.data.astype(np.float32), iris.target.astype(np.int64), list(iris.target_names)


def build_classifiers(w: Writer):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    X, y, target_names = iris_data()
    # Fixed rows from all three classes.
    rows = X[[0, 50, 100, 25, 125]]
    cases = [
        {"name": "rows3", "inputs": [("input", "FP32", rows[:3].copy())]},
        {"name": "rows5", "inputs": [("input", "FP32", rows.copy())]},
    ]
    variants = [
        ("classifier_zipmap", y, {}),
        ("classifier_no_zipmap", y, {"zipmap": False}),
        ("classifier_zipmap_strlabels", np.array([target_names[i] for i in y], dtype=object), {}),
    ]
    for name, labels, options in variants:
        clf = LogisticRegression(max_iter=1000, random_state=0)
        clf.fit(X, labels)
        onx = convert_sklearn(
            clf, name=name, initial_types=[("input", FloatTensorType([None, 4]))],
            options={id(clf): options} if options else None,
            target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})
        onx.doc_string = f"scikit-learn LogisticRegression on iris ({name}), converted by skl2onnx."
        # skl2onnx emits opset_import in set order (varies with PYTHONHASHSEED)
        # and sometimes lists a domain twice: keep one entry per domain, sorted.
        opsets: dict[str, int] = {}
        for o in onx.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
        del onx.opset_import[:]
        for dom, ver in sorted(opsets.items()):
            onx.opset_import.append(helper.make_opsetid(dom, ver))
        if onx.HasField("model_version") and onx.model_version == 0:
            onx.ClearField("model_version")
        w.add_model(name, onx, cases)


def build_corrupt(w: Writer, mlp_bytes: bytes):
    cut = int(len(mlp_bytes) * 0.6)
    data = mlp_bytes[:cut]
    try:
        make_session(data)
    except Exception:
        pass
    else:
        raise RuntimeError("truncated mlp.onnx unexpectedly loaded")
    w.write_bytes("corrupt.onnx", data)
    w.summary.append(f"corrupt: first {cut} of {len(mlp_bytes)} bytes of mlp.onnx (fails to load)")


README = """\
# Test fixture models

Generated by `scripts/make-test-models.py` (run `scripts/python-env` first, then
`.deps/venv/bin/python scripts/make-test-models.py`). Do not edit by hand.
`GENERATED_BY.sha256` holds the sha256 of the generator script that produced
these files; the Makefile regenerates the fixtures when it no longer matches.

For every model `NAME` there is `NAME.onnx` and `NAME.cases.json`:

```json
{
  "model": "NAME.onnx",
  "signature": {
    "inputs":  [{"name": "input", "datatype": "FP32", "shape": [-1, 64], "dim_names": ["batch", null]}],
    "outputs": [{"name": "output", "datatype": "FP32", "shape": [-1, 16], "dim_names": ["batch", null]}]
  },
  "metadata": {"producer_name": "...", "graph_name": "...", "domain": "...",
               "description": "...", "version": 3, "custom": {"author": "ferry-tests"}},
  "cases": [
    {"name": "batch1",
     "request":  {"inputs":  [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": [...]}]},
     "response": {"outputs": [{"name": "output", "datatype": "FP32", "shape": [1, 16], "data": [...]}]}}
  ]
}
```

* `datatype` uses the KServe v2 / Open Inference Protocol names (BOOL, UINT8 ...
  UINT64, INT8 ... INT64, FP16, BF16, FP32, FP64, BYTES = ONNX string tensors).
* `signature` is what onnxruntime reports (`get_inputs()` / `get_outputs()`).
  A dynamic dimension is `-1`; its symbolic name (dim_param) is in `dim_names`
  at the same position, `null` for fixed or unnamed dimensions.
* Non-tensor outputs (ZipMap's sequence of maps) are listed as datatype `BYTES`,
  shape `[-1]`, plus `"onnx_type"` (e.g. `seq(map(int64,tensor(float)))`). In a
  response such an output has shape `[N]` and its data is `N` strings, each the
  `json.dumps` of one row's map with string keys, e.g. `{"0": 0.97, "1": 0.02, "2": 0.01}`.
* `metadata` comes from onnxruntime's model metadata; `version` is `null` when
  the model sets no `model_version` (onnxruntime itself reports 0 then; no
  fixture sets version 0 explicitly). `description` is the model doc_string.
* `data` is the tensor flattened in row-major order. Floats are written as the
  exact value stored in the tensor (a float32 0.1 is `0.10000000149011612`), so
  parsing as double and rounding to the tensor type is exact. Integers are JSON
  integers (including UINT64/INT64 extremes), BOOL is true/false, BYTES are
  JSON (UTF-8) strings. There are no NaN/Inf values.
* A request may contain `"outputs": [{"name": ...}]`; the response then lists
  only those outputs, in that order.
* Every response was produced by the Python `onnxruntime` package
  (CPUExecutionProvider, 1 thread) on exactly the request's inputs. BF16
  tensors were fed and read as raw bfloat16 bits through `OrtValue`s, so they
  are onnxruntime results too. Models doing float arithmetic (mlp, classifiers,
  symbolic_dims, multi_io `sum`) may differ in the last bits with other thread
  counts or ORT builds: compare those with a small tolerance. Identity and Cast
  outputs are exact.

`corrupt.onnx` is the first 60% of `mlp.onnx` (truncated protobuf, fails to
load). It has no cases file.
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = ap.parse_args()

    for mod, want in (("onnx", onnx.__version__), ("onnxruntime", ort.__version__)):
        if want != EXPECTED_VERSIONS[mod]:
            print(f"warning: {mod} {want} != pinned {EXPECTED_VERSIONS[mod]}; "
                  "fixtures may differ (use scripts/python-env)", file=sys.stderr)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    w = Writer(out)

    mlp_bytes = build_mlp(w)
    build_identity(w)
    build_casts(w)
    build_strings(w)
    build_multi_io(w)
    build_classifiers(w)
    build_symbolic_dims(w)
    build_edge_cases(w)
    build_corrupt(w, mlp_bytes)
    w.write_text("README.md", README)

    # Remove stale generated files from earlier versions of this script.
    keep = set(w.written) | {"GENERATED_BY.sha256"}
    for p in sorted(out.iterdir()):
        if p.is_file() and p.name not in keep and (p.suffix == ".onnx" or p.name.endswith(".cases.json")):
            p.unlink()
            print(f"removed stale {p.name}")

    digest = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()
    (out / "GENERATED_BY.sha256").write_text(digest + "\n")

    total = sum((out / n).stat().st_size for n in w.written)
    for line in w.summary:
        print(line)
    print(f"wrote {len(w.written)} files ({total / 1024:.0f} KiB) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
