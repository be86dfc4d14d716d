#!/usr/bin/env python3
"""The Python half of `ferry convert`: one model in, one verified ONNX model out.

Usage: python ferry_convert.py REQUEST.json

The Swift half creates a pinned virtual environment per framework
(requirements-<framework>.txt beside this file), writes REQUEST.json and runs
this script with that environment's interpreter. The script imports only the
framework the request names, so it runs in each of those environments.

It writes into the request's work_dir:
  model.onnx        the served model (after optimize / quantize when asked)
  report.json       what was converted, how, and how well it matches the source
  cases/<n>/        manifest.json + raw tensors: inputs and what onnxruntime
                    gave for the served model, for the Swift side's own check
  error.json        only on failure: {"kind": ..., "message": ...}

Exit status: 0 when report.json was written (even when checks failed: the
report says so in "passed"), 2 for the user's errors (error.json names the
kind), 3 for internal errors (error.json kind "internal"). Progress lines go to
stdout; everything the frameworks print, and tracebacks, go to stderr.
"""

import contextlib
import importlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from dataclasses import dataclass, field

# TensorFlow reads this when it is imported; 3 hides its C++ INFO/WARNING/ERROR lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402  (every converter environment has numpy, onnx and onnxruntime)
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

# Default tolerances by output datatype (KServe names), used when the request's
# atol/rtol are null. An output passes when, elementwise,
#     |actual - expected| <= atol + rtol * |expected|        (numpy.allclose)
#   FP32       atol 1e-4  rtol 1e-3
#   FP16/BF16  atol 1e-2  rtol 1e-2
#   FP64       atol 1e-7  rtol 1e-6
#   integer and BOOL (and BYTES) outputs must match exactly, even when the
#   request gives atol/rtol (those apply to floating-point outputs only).
# A quantized model is not held to these: its deltas against the float model
# are reported, and it fails only when a classifier output's argmax agreement
# is below QUANTIZED_MIN_AGREEMENT.
DEFAULT_TOLERANCES = {
    "FP32": (1e-4, 1e-3),
    "FP16": (1e-2, 1e-2),
    "BF16": (1e-2, 1e-2),
    "FP64": (1e-7, 1e-6),
}
EXACT = (0.0, 0.0)
QUANTIZED_MIN_AGREEMENT = 0.9

# Dynamic dimensions need a concrete size to trace and to test with. Batch 2
# for tracing because torch.export specializes dimensions of size 0 and 1.
EXPORT_BATCH = 2
DYNAMIC_DIM_SIZE = 8
BATCH_DIM = "batch"

LATENCY_WARMUP = 5
LATENCY_RUNS = 30

KSERVE_TO_NUMPY = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
    "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "FP16": "float16", "FP32": "float32", "FP64": "float64", "BYTES": "object",
}
NUMPY_TO_KSERVE = {v: k for k, v in KSERVE_TO_NUMPY.items()}
ONNX_TO_KSERVE = {
    onnx.TensorProto.BOOL: "BOOL", onnx.TensorProto.UINT8: "UINT8", onnx.TensorProto.UINT16: "UINT16",
    onnx.TensorProto.UINT32: "UINT32", onnx.TensorProto.UINT64: "UINT64", onnx.TensorProto.INT8: "INT8",
    onnx.TensorProto.INT16: "INT16", onnx.TensorProto.INT32: "INT32", onnx.TensorProto.INT64: "INT64",
    onnx.TensorProto.FLOAT16: "FP16", onnx.TensorProto.BFLOAT16: "BF16", onnx.TensorProto.FLOAT: "FP32",
    onnx.TensorProto.DOUBLE: "FP64", onnx.TensorProto.STRING: "BYTES",
}
FORMATS = {
    "pytorch": ("torchscript", "exported_program", "module"),
    "tensorflow": ("savedmodel", "frozen_graph", "keras"),
    "sklearn": ("sklearn", "xgboost", "lightgbm"),
    "onnx": ("onnx",),
}

# Messages that mean "the converter or the runtime has no implementation for
# an operator/estimator in this model" rather than a failure of the export.
UNSUPPORTED = re.compile(
    r"unsupportedoperatorerror|operator \S+ .*is not supported|no onnx function found|unsupported ops|"  # torch.onnx, tf2onnx
    r"could not find an implementation|no op registered|not a registered function|no opset import for domain|"  # onnxruntime
    r"unable to find a (shape calculator|converter)|missing(shapecalculator|converter)",  # skl2onnx
    re.IGNORECASE,
)


# ---------------------------------------------------------------------------
# Errors and progress


class ConvertError(Exception):
    """A failure that is the user's: its kind goes to error.json, and exit 2."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def cause(exc):
    """One line naming exc's root cause: "Type: its message's telling line".

    Exporters wrap the real error (torch.onnx's is pages long and ends with
    boilerplate), so this follows __cause__ to the innermost one. TensorFlow
    opens with "in user code:" and a stack, and closes with the real error.
    """
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # dynamo colours its messages
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(("File ", "("))]
    line = lines[0] if lines else ""
    if line.endswith(":") and len(lines) > 1:
        line = lines[-1]
    if len(line) > 400:
        line = line[:397] + "..."
    if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", line):
        return line
    name = type(exc).__name__
    return f"{name}: {line}" if line else name


def chain_text(exc):
    """All messages of exc and its causes, for classifying it."""
    parts = []
    while exc is not None:
        parts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__
    return "\n".join(parts)


def export_error(exc, what):
    kind = "unsupported_operator" if UNSUPPORTED.search(chain_text(exc)) else "export_failed"
    return ConvertError(kind, f"{what} failed: {cause(exc)}")


class Progress:
    """Short lines for the user on the real stdout.

    Frameworks print freely (torch.onnx's dynamo exporter, TensorFlow, C++
    libraries writing to fd 1), so fd 1 is pointed at stderr and progress
    keeps a private duplicate of the original stdout.
    """

    def __init__(self):
        sys.stdout.flush()
        self._out = os.fdopen(os.dup(1), "w", buffering=1)
        os.dup2(2, 1)

    def __call__(self, line):
        self._out.write(line + "\n")
        self._out.flush()


# ---------------------------------------------------------------------------
# The request


@dataclass
class TensorSpec:
    name: str
    datatype: str  # KServe name
    dims: list  # -1 for a dynamic dimension

    def numpy_dtype(self):
        if self.datatype not in KSERVE_TO_NUMPY:
            raise ConvertError("bad_request", f"input {self.name}: datatype {self.datatype} is not supported")
        return np.dtype(KSERVE_TO_NUMPY[self.datatype])


@dataclass
class Request:
    source: str
    framework: str
    work_dir: str
    format: str = None
    module: str = None
    inputs: list = field(default_factory=list)
    output_names: list = None
    static_batch: bool = False
    exporter: str = "dynamo"
    opset: int = 18
    graph_inputs: list = None
    graph_outputs: list = None
    atol: float = None
    rtol: float = None
    samples: list = field(default_factory=list)
    seed: int = 0
    batch_sizes: list = field(default_factory=lambda: [1])
    optimize: bool = False
    quantize: str = None
    calibration: str = None


def read_json_object(path):
    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, ValueError) as exc:
        raise ConvertError("bad_request", f"cannot read the request {path}: {cause(exc)}") from exc
    if not isinstance(raw, dict):
        raise ConvertError("bad_request", "the request is not a JSON object")
    return raw


def parse_request(raw):
    known = {k: v for k, v in raw.items() if k in Request.__dataclass_fields__ and v is not None}
    for key in ("source", "framework", "work_dir"):
        if not known.get(key):
            raise ConvertError("bad_request", f"the request has no {key}")
    try:
        req = Request(**known)
        req.inputs = [
            TensorSpec(str(i["name"]), i.get("datatype"), [int(d) for d in i.get("dims") or []])
            for i in req.inputs
        ]
    except (TypeError, KeyError, ValueError) as exc:
        raise ConvertError("bad_request", f"malformed request: {cause(exc)}") from exc
    validate(req)
    return req


def validate(req):
    if req.framework not in FORMATS:
        raise ConvertError("bad_request", f"unknown framework {req.framework!r}; expected one of {', '.join(FORMATS)}")
    if req.format is not None and req.format not in FORMATS[req.framework]:
        raise ConvertError(
            "unknown_format",
            f"format {req.format!r} is not one {req.framework} converts ({', '.join(FORMATS[req.framework])})",
        )
    if req.exporter not in ("dynamo", "torchscript"):
        raise ConvertError("bad_request", f"unknown exporter {req.exporter!r}; expected dynamo or torchscript")
    if req.quantize not in (None, "int8"):
        raise ConvertError("bad_request", f"unknown quantization {req.quantize!r}; only int8 is supported")
    if req.calibration and not req.quantize:
        raise ConvertError("bad_request", "a calibration file only makes sense with quantize int8")
    if not req.batch_sizes or any(int(b) < 1 for b in req.batch_sizes):
        raise ConvertError("bad_request", "batch_sizes must be positive integers")
    if not os.path.isdir(req.work_dir):
        raise ConvertError("bad_request", f"work_dir {req.work_dir} is not a directory")
    if not os.path.exists(req.source):
        raise ConvertError("unreadable", f"{req.source} does not exist")
    if not os.access(req.source, os.R_OK):
        raise ConvertError("unreadable", f"{req.source} is not readable")
    for path in list(req.samples) + ([req.calibration] if req.calibration else []):
        if not os.path.isfile(path):
            raise ConvertError("unreadable", f"{path} does not exist")


def resolve_inputs(req, known, fixed_datatype=True):
    """The inputs to convert with: the model's own (known) merged with the request's.

    Request names win (by position); request dims fill in dimensions the model
    leaves dynamic; a request datatype must agree with a model that fixes its
    own (fixed_datatype). The batch dimension (0) becomes -1, or the static
    batch when the request asks for one.
    """
    requested = req.inputs
    if not known and not requested:
        raise ConvertError("bad_request", f"this {req.framework} model does not record its inputs: give each input's name, dims and datatype")
    if known and requested and len(known) != len(requested):
        names = ", ".join(s.name for s in known)
        raise ConvertError("bad_request", f"the model has {len(known)} inputs ({names}); the request gives {len(requested)}")
    specs = []
    for i in range(max(len(known), len(requested))):
        own = known[i] if known else None
        asked = requested[i] if requested else None
        specs.append(merge_spec(req, own, asked, fixed_datatype))
    return specs


def merge_spec(req, own, asked, fixed_datatype):
    name = (asked.name if asked else None) or own.name
    datatype = own.datatype if own else "FP32"
    if asked and asked.datatype:
        if own and fixed_datatype and asked.datatype != own.datatype:
            raise ConvertError("bad_request", f"input {own.name} is {own.datatype} in the model; the request says {asked.datatype}")
        datatype = asked.datatype
    dims = list(own.dims) if own else list(asked.dims)
    if own and asked and asked.dims:
        if len(asked.dims) != len(own.dims):
            raise ConvertError("bad_request", f"input {own.name} has dims {own.dims} in the model; the request says {asked.dims}")
        dims = [a if o < 0 and a > 0 else o for o, a in zip(own.dims, asked.dims)]
    if dims:
        if req.static_batch:
            dims[0] = dims[0] if dims[0] > 0 else int(req.batch_sizes[0])
        else:
            dims[0] = -1
    return TensorSpec(name, datatype, dims)


def concrete_shape(spec, batch):
    """A shape to make test data with: the batch in dim 0, DYNAMIC_DIM_SIZE for other dynamic dims."""
    return tuple(batch if i == 0 else (d if d > 0 else DYNAMIC_DIM_SIZE) for i, d in enumerate(spec.dims))


# ---------------------------------------------------------------------------
# Sources: each loader returns a Source that can run the original model and
# convert it to ONNX. run() takes arrays in input order and returns the
# outputs in the order of output_names; export() returns an ONNX ModelProto
# whose outputs are those outputs (in that order, or named the same).


@dataclass
class Source:
    framework: str
    format: str
    inputs: list  # TensorSpec, final names
    output_names: list  # the framework's names for the outputs, in run() order
    run: object
    export: object  # () -> (onnx.ModelProto, converter description)
    versions: dict
    dynamic_batch: bool = True
    onnx_output_names: list = None  # when the converter names outputs unlike output_names
    warnings: list = field(default_factory=list)  # for the report: things the user should know
    classifier: bool = None  # None: unknown, judged from the outputs' shapes


def numpy_dims(shape):
    return [-1 if d is None or not isinstance(d, int) or d < 0 else int(d) for d in shape]


def kserve_of(dtype):
    name = np.dtype(dtype).name
    if name.startswith(("str", "bytes")) or name == "object":
        return "BYTES"
    if name == "bfloat16":
        return "BF16"
    if name not in NUMPY_TO_KSERVE:
        raise ConvertError("unsupported_operator", f"tensors of type {name} have no KServe datatype")
    return NUMPY_TO_KSERVE[name]


# --- PyTorch ---------------------------------------------------------------


def load_pytorch(req, say):
    import torch

    torch.manual_seed(req.seed)
    allow_torchvision_without_its_ops(torch)
    fmt = req.format or ("module" if req.module else detect_torch_format(req.source))
    say(f"loading {req.source} ({fmt})")
    if fmt == "module":
        model, known = build_torch_module(req, torch), []
    elif fmt == "exported_program":
        if req.exporter == "torchscript":
            # It would have to retrace the program's module, which refuses train()/eval().
            raise ConvertError("bad_request", "an ExportedProgram (.pt2) converts with the dynamo exporter only: drop --exporter torchscript")
        model, known = load_exported_program(req.source, torch)
    else:
        model, known = load_torchscript(req.source, torch), []
    inputs = resolve_inputs(req, known, fixed_datatype=bool(known))
    for spec in inputs:
        if spec.datatype in ("BF16", "BYTES"):
            raise ConvertError("bad_request", f"input {spec.name}: {spec.datatype} inputs are not supported for PyTorch models")

    example = [random_array(np.random.default_rng(req.seed), s, concrete_shape(s, s.dims[0] if s.dims and s.dims[0] > 0 else EXPORT_BATCH)) for s in inputs]

    def run(arrays):
        return run_torch(model, arrays, torch)

    try:
        n_outputs = len(run(example))
    except Exception as exc:
        shapes = ", ".join(f"{s.name} {list(a.shape)}" for s, a in zip(inputs, example))
        raise ConvertError("bad_request", f"the model does not run on inputs shaped {shapes}: {cause(exc)}") from exc
    output_names = [f"output_{i}" for i in range(n_outputs)]

    def export():
        names = req.output_names or output_names
        return export_torch(req, model, inputs, example, names, torch, say)

    versions = {"framework": torch.__version__, "torch": torch.__version__, "converter": f"torch.onnx {torch.__version__} ({req.exporter})"}
    with contextlib.suppress(ImportError):
        import onnxscript

        versions["onnxscript"] = onnxscript.__version__
    return Source("pytorch", fmt, inputs, output_names, run, export, versions, not req.static_batch)


def allow_torchvision_without_its_ops(torch):
    """Lets a user's module import torchvision with the CPU-only torch.

    PyPI's torchvision wheel is the CUDA build: its _C extension needs
    libtorch_cuda.so, which the CPU torch lacks, so it does not load, and
    `import torchvision` then fails registering fake kernels for
    torchvision::nms and qnms. Defining those two schemas lets torchvision
    import; its models work, its detection ops (nms, roi_align, ...) do not.
    """
    import glob
    import importlib.util

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    extension = glob.glob(os.path.join(spec.submodule_search_locations[0], "_C*.so"))
    try:
        torch.ops.load_library(extension[0])
    except (OSError, IndexError):
        global _TORCHVISION_STUB
        _TORCHVISION_STUB = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            _TORCHVISION_STUB.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")


_TORCHVISION_STUB = None  # the stub library must outlive the function that defines it


def detect_torch_format(path):
    """TorchScript and torch.save files are both zip archives; their entries tell them apart."""
    if path.endswith(".pt2"):
        return "exported_program"
    if not zipfile.is_zipfile(path):
        raise ConvertError("unknown_format", f"{path} is not a PyTorch archive (TorchScript, .pt2); for a pickled checkpoint pass --module")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any("/code/" in n for n in names):
        return "torchscript"
    if any(n.endswith("archive_format") or "/models/" in n for n in names):
        return "exported_program"
    raise ConvertError(
        "unknown_format",
        f"{os.path.basename(path)} holds a state_dict or pickled module, not TorchScript: pass --module package.module:factory to build the module",
    )


def load_torchscript(path, torch):
    try:
        return torch.jit.load(path, map_location="cpu").eval()
    except Exception as exc:
        text = cause(exc)
        kind = "incompatible_version" if "version" in text.lower() else "unreadable"
        raise ConvertError(kind, f"torch {torch.__version__} cannot load {os.path.basename(path)} as TorchScript: {text}") from exc


def load_exported_program(path, torch):
    try:
        program = torch.export.load(path)
    except Exception as exc:
        text = cause(exc)
        kind = "incompatible_version" if "version" in text.lower() else "unreadable"
        raise ConvertError(kind, f"torch {torch.__version__} cannot load {os.path.basename(path)} as an ExportedProgram: {text}") from exc
    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    known = []
    for name in program.graph_signature.user_inputs:
        value = placeholders[name].meta.get("val")
        if value is None or not hasattr(value, "shape"):
            return program.module(), []
        known.append(TensorSpec(name, torch_datatype(value.dtype, torch), numpy_dims(value.shape)))
    return program.module(), known


def torch_datatype(dtype, torch):
    return "BF16" if dtype == torch.bfloat16 else kserve_of(torch.empty((), dtype=dtype).numpy().dtype)


def build_torch_module(req, torch):
    """Builds the module with the factory named by --module and loads the source's weights into it."""
    module_name, _, factory_name = req.module.partition(":")
    if not module_name or not factory_name:
        raise ConvertError("bad_request", f"--module {req.module!r} must be package.module:factory")
    for path in (os.getcwd(), os.path.dirname(os.path.abspath(req.source))):
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConvertError("module_import", f"cannot import {module_name}: {cause(exc)}") from exc
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ConvertError("module_import", f"{module_name} has no callable {factory_name}")
    try:
        model = factory()
    except Exception as exc:
        raise ConvertError("module_import", f"{req.module}() failed: {cause(exc)}") from exc
    if not isinstance(model, torch.nn.Module):
        raise ConvertError("module_import", f"{req.module}() returned {type(model).__name__}, not a torch.nn.Module")
    state = load_state_dict(req.source, torch)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # tensors of the wrong size
        raise ConvertError("module_import", f"the weights in {os.path.basename(req.source)} do not fit {req.module}(): {cause(exc)}") from exc
    if missing or unexpected:
        raise ConvertError(
            "module_import",
            f"the weights in {os.path.basename(req.source)} do not fit {req.module}(): "
            f"missing {', '.join(missing[:5]) or 'none'}; unexpected {', '.join(unexpected[:5]) or 'none'}",
        )
    return model.eval()


def load_state_dict(path, torch):
    name = os.path.basename(path)
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path, device="cpu")
        else:
            # weights_only: a checkpoint is data, never code to run.
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = cause(exc)
        kind = "incompatible_version" if "version" in text.lower() else "unreadable"
        raise ConvertError(kind, f"cannot load weights from {name}: {text}") from exc
    # Training checkpoints often wrap the state_dict.
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ConvertError("unknown_format", f"{name} holds a {type(state).__name__}, not a state_dict")
    return state


def run_torch(model, arrays, torch):
    from torch.utils._pytree import tree_flatten

    with torch.no_grad():
        result = model(*[torch.from_numpy(np.ascontiguousarray(a)) for a in arrays])
    # The exporters flatten nested outputs the same way (pytree order).
    return [t.detach().cpu().float().numpy() if t.dtype == torch.bfloat16 else t.detach().cpu().numpy() for t in tree_flatten(result)[0]]


def export_torch(req, model, inputs, example, output_names, torch, say):
    args = tuple(torch.from_numpy(a) for a in example)
    input_names = [s.name for s in inputs]
    dynamo = req.exporter == "dynamo"
    say(f"exporting with torch.onnx ({req.exporter}, opset {req.opset})")
    what = f"torch.onnx.export ({req.exporter})"
    try:
        if dynamo:
            if isinstance(model, torch.jit.ScriptModule):
                # torch.onnx's dynamo exporter takes no ScriptModule: go through an ExportedProgram.
                from torch._export.converter import TS2EPConverter

                model = TS2EPConverter(model, args).convert().module()
                what = "torch.onnx.export (dynamo, via TS2EPConverter)"
            program = torch.onnx.export(
                model, args, input_names=input_names, output_names=output_names,
                opset_version=req.opset, dynamo=True, external_data=False, verbose=False,
                dynamic_shapes=torch_dynamic_shapes(inputs, torch) if not req.static_batch else None,
            )
            proto = program.model_proto
        else:
            import io

            buffer = io.BytesIO()
            axes = {} if req.static_batch else {
                name: {0: BATCH_DIM} for name, s in zip(input_names, inputs) if s.dims
            } | {name: {0: BATCH_DIM} for name in output_names}
            torch.onnx.export(
                model, args, buffer, input_names=input_names, output_names=output_names,
                opset_version=req.opset, dynamo=False, dynamic_axes=axes, do_constant_folding=True,
            )
            proto = onnx.load_from_string(buffer.getvalue())
    except Exception as exc:
        hint = " (try --exporter torchscript)" if dynamo else ""
        error = export_error(exc, what)
        raise ConvertError(error.kind, error.message + hint) from exc
    return proto, what


def torch_dynamic_shapes(inputs, torch):
    """One shared Dim for dim 0 of every input (they batch together), one per other dynamic dim."""
    batch = torch.export.Dim(BATCH_DIM)
    shapes = []
    for spec in inputs:
        dims = {}
        for i, d in enumerate(spec.dims):
            if i == 0:
                dims[0] = batch
            elif d < 0:
                dims[i] = torch.export.Dim(re.sub(r"\W", "_", spec.name) + f"_{i}")
        shapes.append(dims or None)
    return tuple(shapes)


# --- TensorFlow ------------------------------------------------------------


def load_tensorflow(req, say):
    import logging

    import tensorflow as tf
    import tf2onnx

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)
    tf.keras.utils.set_random_seed(req.seed)
    fmt = req.format or detect_tf_format(req.source)
    say(f"loading {req.source} ({fmt})")
    loaders = {"savedmodel": load_savedmodel, "keras": load_keras, "frozen_graph": load_frozen_graph}
    source = loaders[fmt](req, tf, tf2onnx, say)
    source.versions = {
        "framework": tf.__version__, "tensorflow": tf.__version__, "keras": keras_version(),
        "tf2onnx": tf2onnx.__version__, "converter": f"tf2onnx {tf2onnx.__version__}",
    }
    return source


def detect_tf_format(path):
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "saved_model.pb")) or os.path.exists(os.path.join(path, "saved_model.pbtxt")):
            return "savedmodel"
        raise ConvertError("unknown_format", f"{path} is a directory without saved_model.pb")
    if path.endswith((".keras", ".h5", ".hdf5")):
        return "keras"
    if path.endswith(".pb"):
        return "frozen_graph"
    raise ConvertError("unknown_format", f"cannot tell the TensorFlow format of {os.path.basename(path)} (expected a SavedModel directory, .keras, .h5 or a frozen .pb)")


def tf_spec(tf, name, tensor_spec):
    return TensorSpec(name, kserve_of(tensor_spec.dtype.as_numpy_dtype), numpy_dims(tensor_spec.shape.as_list() if tensor_spec.shape.rank is not None else []))


def tf_signature(tf, inputs, dtypes, names):
    """TensorSpecs to trace with: dynamic dims stay None unless the batch is static."""
    return [
        tf.TensorSpec([None if d < 0 else d for d in s.dims], dtype, name=name)
        for s, dtype, name in zip(inputs, dtypes, names)
    ]


def load_savedmodel(req, tf, tf2onnx, say):
    try:
        loaded = tf.saved_model.load(req.source)
    except Exception as exc:
        raise ConvertError("unreadable", f"TensorFlow {tf.__version__} cannot load the SavedModel: {cause(exc)}") from exc
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise ConvertError("unknown_format", f"the SavedModel has no serving_default signature (it has: {', '.join(loaded.signatures) or 'none'})")
    # Signatures hold their variables weakly: the closures below keep `loaded` alive.
    in_specs = signature.structured_input_signature[1]
    in_keys = sorted(in_specs)
    out_keys = sorted(signature.structured_outputs)
    inputs = resolve_inputs(req, [tf_spec(tf, k, in_specs[k]) for k in in_keys])

    def run(arrays):
        result = loaded.signatures["serving_default"](**{k: tf.constant(a) for k, a in zip(in_keys, arrays)})
        return [result[k].numpy() for k in out_keys]

    def export():
        trace_spec = tf_signature(tf, inputs, [in_specs[k].dtype for k in in_keys], in_keys)

        # from_function traces positionally; the signature takes keywords.
        @tf.function(input_signature=trace_spec)
        def serve(*args):
            return loaded.signatures["serving_default"](**dict(zip(in_keys, args)))

        say(f"exporting with tf2onnx (opset {req.opset})")
        try:
            proto, _ = tf2onnx.convert.from_function(serve, input_signature=trace_spec, opset=req.opset)
        except Exception as exc:
            raise export_error(exc, "tf2onnx.convert.from_function") from exc
        return proto, "tf2onnx.convert.from_function (SavedModel serving_default)"

    return Source("tensorflow", "savedmodel", inputs, out_keys, run, export, {})


def keras_version():
    """The installed Keras (tf.keras has no __version__ in TF 2.15)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("keras")
    except PackageNotFoundError:
        return "unknown"


def keras_saved_version(path):
    """The Keras version that wrote a .keras/.h5 file, when it says."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read("metadata.json")).get("keras_version")
        import h5py

        with h5py.File(path, "r") as f:
            version = f.attrs.get("keras_version")
            return version.decode() if isinstance(version, bytes) else version
    except Exception:
        return None


def load_keras(req, tf, tf2onnx, say):
    try:
        model = tf.keras.models.load_model(req.source, compile=False)
    except Exception as exc:
        saved = keras_saved_version(req.source)
        installed = keras_version()
        if saved and saved.split(".")[0] != installed.split(".")[0]:
            raise ConvertError(
                "incompatible_version",
                f"{os.path.basename(req.source)} was saved by Keras {saved}; this environment has Keras {installed} (TensorFlow {tf.__version__}): {cause(exc)}",
            ) from exc
        raise ConvertError("unreadable", f"Keras {installed} cannot load {os.path.basename(req.source)}: {cause(exc)}") from exc
    names = list(model.input_names)
    known = [TensorSpec(n, kserve_of(t.dtype.as_numpy_dtype), numpy_dims(t.shape.as_list())) for n, t in zip(names, model.inputs)]
    inputs = resolve_inputs(req, known)
    output_names = list(model.output_names)

    def run(arrays):
        result = model([tf.constant(a) for a in arrays] if len(arrays) > 1 else tf.constant(arrays[0]), training=False)
        return [r.numpy() for r in (result if isinstance(result, (list, tuple)) else [result])]

    def export():
        trace_spec = tf_signature(tf, inputs, [t.dtype for t in model.inputs], names)
        say(f"exporting with tf2onnx (opset {req.opset})")
        try:
            proto, _ = tf2onnx.convert.from_keras(model, input_signature=trace_spec, opset=req.opset)
        except Exception as exc:
            raise export_error(exc, "tf2onnx.convert.from_keras") from exc
        return proto, "tf2onnx.convert.from_keras"

    return Source("tensorflow", "keras", inputs, output_names, run, export, {})


def load_frozen_graph(req, tf, tf2onnx, say):
    if not req.graph_inputs or not req.graph_outputs:
        raise ConvertError("bad_request", "a frozen graph needs --inputs and --outputs (tensor names such as x:0)")
    graph_def = tf.compat.v1.GraphDef()
    try:
        with open(req.source, "rb") as f:
            graph_def.ParseFromString(f.read())
    except Exception as exc:
        raise ConvertError("unreadable", f"{os.path.basename(req.source)} is not a TensorFlow GraphDef: {cause(exc)}") from exc
    tensor_names = [n if ":" in n else n + ":0" for n in req.graph_inputs]
    output_tensors = [n if ":" in n else n + ":0" for n in req.graph_outputs]
    nodes = {n.name: n for n in graph_def.node}
    known = []
    for name in tensor_names:
        node = nodes.get(name.split(":")[0])
        if node is None or node.op != "Placeholder":
            placeholders = ", ".join(n.name + ":0" for n in graph_def.node if n.op == "Placeholder")
            raise ConvertError("bad_request", f"the graph has no placeholder {name} (placeholders: {placeholders or 'none'})")
        shape = node.attr["shape"].shape
        dims = [] if shape.unknown_rank else [int(d.size) for d in shape.dim]
        known.append(TensorSpec(name.split(":")[0], kserve_of(tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype), dims))
    missing = [n for n in output_tensors if n.split(":")[0] not in nodes]
    if missing:
        raise ConvertError("bad_request", f"the graph has no tensor {missing[0]}")
    inputs = resolve_inputs(req, known)

    def import_graph():
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(import_graph, [])
    pruned = wrapped.prune(
        feeds=[wrapped.graph.get_tensor_by_name(n) for n in tensor_names],
        fetches=[wrapped.graph.get_tensor_by_name(n) for n in output_tensors],
    )

    def run(arrays):
        return [r.numpy() for r in pruned(*[tf.constant(a) for a in arrays])]

    def export():
        overrides = {n: [None if d < 0 else d for d in s.dims] for n, s in zip(tensor_names, inputs)} if req.static_batch else None
        say(f"exporting with tf2onnx (opset {req.opset})")
        try:
            proto, _ = tf2onnx.convert.from_graph_def(
                graph_def, input_names=tensor_names, output_names=output_tensors, opset=req.opset, shape_override=overrides,
            )
        except Exception as exc:
            raise export_error(exc, "tf2onnx.convert.from_graph_def") from exc
        return proto, "tf2onnx.convert.from_graph_def"

    # The framework's names for the outputs: the tensor names without ":0".
    output_names = [n[:-2] if n.endswith(":0") else n for n in output_tensors]
    return Source("tensorflow", "frozen_graph", inputs, output_names, run, export, {}, onnx_output_names=output_tensors)


# --- scikit-learn, XGBoost, LightGBM ----------------------------------------


def load_sklearn(req, say):
    import sklearn

    fmt = req.format or detect_sklearn_format(req.source)
    say(f"loading {req.source} ({fmt})")
    if is_native_booster(req.source, fmt):
        model, mismatch = load_native_booster(req.source, fmt), None
    else:
        model, mismatch = load_pickle(req.source)
    kind = estimator_kind(model)
    if kind is None:
        raise ConvertError("unknown_format", f"{os.path.basename(req.source)} holds a {type(model).__module__}.{type(model).__name__}, not a scikit-learn, XGBoost or LightGBM model")
    register_tree_converters()
    from sklearn.base import is_classifier

    classifier = bool(is_classifier(model))
    n_features = getattr(model, "n_features_in_", None)
    known = [TensorSpec("input", "FP32", [-1, int(n_features)])] if n_features else []
    inputs = resolve_inputs(req, known, fixed_datatype=False)
    if len(inputs) != 1 or len(inputs[0].dims) != 2 or inputs[0].datatype not in ("FP32", "FP64"):
        raise ConvertError("bad_request", "a scikit-learn model takes one FP32 or FP64 input shaped [batch, features]")
    if classifier:
        output_names = ["label", "probabilities"]
    else:
        output_names = ["variable"]

    def run(arrays):
        x = arrays[0]
        if classifier:
            return [np.asarray(model.predict(x)), np.asarray(model.predict_proba(x))]
        if hasattr(model, "predict"):
            return [np.asarray(model.predict(x))]
        return [np.asarray(model.transform(x))]

    def export():
        return export_sklearn(req, model, inputs[0], say)

    versions = {"framework": sklearn.__version__, "scikit-learn": sklearn.__version__}
    for name in ("skl2onnx", "onnxmltools", "xgboost", "lightgbm"):
        with contextlib.suppress(ImportError):
            versions[name] = importlib.import_module(name).__version__
    versions["converter"] = f"skl2onnx {versions['skl2onnx']}" + (f" + onnxmltools {versions['onnxmltools']}" if kind != "sklearn" else "")
    source = Source("sklearn", kind if fmt == "sklearn" else fmt, inputs, output_names, run, export, versions, not req.static_batch, classifier=classifier)
    if mismatch:
        # It loaded; the verification shows whether it still computes the same.
        source.warnings.append(f"{os.path.basename(req.source)} was {mismatch}")
    return source


def detect_sklearn_format(path):
    if path.endswith((".json", ".ubj")):
        return "xgboost"
    if path.endswith(".txt"):
        return "lightgbm"
    return "sklearn"


def is_native_booster(path, fmt):
    return (fmt == "xgboost" and path.endswith((".json", ".ubj"))) or (fmt == "lightgbm" and path.endswith(".txt"))


def load_native_booster(path, fmt):
    """XGBoost .json/.ubj and LightGBM .txt, loaded into their scikit-learn wrappers for skl2onnx."""
    try:
        if fmt == "xgboost":
            import xgboost

            booster = xgboost.Booster(model_file=path)
            objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
            wrapper = xgboost.XGBClassifier() if objective.startswith(("binary:", "multi:")) else xgboost.XGBRegressor()
            wrapper.load_model(path)
            return wrapper
        import lightgbm
        from sklearn.preprocessing import LabelEncoder

        booster = lightgbm.Booster(model_file=path)
        dump = booster.dump_model()
        objective = dump["objective"].split()[0]
        wrapper = lightgbm.LGBMClassifier() if objective in ("binary", "multiclass", "multiclassova") else lightgbm.LGBMRegressor()
        # LightGBM's wrappers cannot load a model file: set what fit() sets.
        wrapper._Booster = booster
        wrapper.fitted_ = True
        wrapper._n_features = wrapper._n_features_in = booster.num_feature()
        wrapper._objective = objective
        if isinstance(wrapper, lightgbm.LGBMClassifier):
            # A .txt model does not record class labels: they are 0..n-1.
            wrapper._n_classes = max(2, dump["num_class"])
            wrapper._classes = np.arange(wrapper._n_classes)
            wrapper._le = LabelEncoder().fit(wrapper._classes)
        return wrapper
    except Exception as exc:
        raise ConvertError("unreadable", f"cannot load {os.path.basename(path)} as a native {fmt} model: {cause(exc)}") from exc


def load_pickle(path):
    """joblib.load -> (model, version mismatch or None).

    A pickle from another framework version may fail to load, or load and
    compute differently: the mismatch is named either way.
    """
    import joblib

    name = os.path.basename(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = joblib.load(path)
            error = None
        except Exception as exc:
            model, error = None, exc
    mismatch = pickled_version_mismatch(caught)
    for warning in caught:
        warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    if error is None:
        return model, mismatch
    if mismatch:
        raise ConvertError("incompatible_version", f"{name}: {mismatch}: {cause(error)}") from error
    if isinstance(error, (ModuleNotFoundError, AttributeError)):
        missing = getattr(error, "name", None) or ""
        framework = missing.split(".")[0]
        if framework in ("sklearn", "xgboost", "lightgbm"):
            installed = importlib.import_module(framework).__version__
            raise ConvertError("incompatible_version", f"{name} was pickled with a {framework} other than the installed {installed}: {cause(error)}") from error
        raise ConvertError("module_import", f"unpickling {name} needs code this environment lacks: {cause(error)}") from error
    raise ConvertError("unreadable", f"{name} is not a readable pickle/joblib file: {cause(error)}") from error


def pickled_version_mismatch(caught):
    """'pickled with scikit-learn A; installed B' from the warnings unpickling gave, or None."""
    for warning in caught:
        message = warning.message
        original = getattr(message, "original_sklearn_version", None)
        if original is not None:  # sklearn's InconsistentVersionWarning
            return f"pickled with scikit-learn {original}; this environment has {message.current_sklearn_version}"
        text = str(message)
        if "XGBoost" in text and "older version" in text:
            import xgboost

            return f"pickled with another XGBoost version; this environment has {xgboost.__version__}"
    return None


def estimator_kind(model):
    root = type(model).__module__.split(".")[0]
    if root == "xgboost":
        return "xgboost"
    if root == "lightgbm":
        return "lightgbm"
    if root == "sklearn" or hasattr(model, "get_params"):
        return "sklearn"
    return None


def register_tree_converters():
    """Teaches skl2onnx the XGBoost and LightGBM estimators, with onnxmltools' converters.

    onnxmltools' own convert_xgboost/convert_lightgbm stop at opset 15;
    registering their operator converters with skl2onnx (its documented way,
    which also covers them inside a Pipeline) converts at the requested opset.
    """
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    with contextlib.suppress(ImportError):
        import xgboost
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

        update_registered_converter(xgboost.XGBClassifier, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes, convert_xgboost, options=classifier_options)
        update_registered_converter(xgboost.XGBRegressor, "XGBoostXGBRegressor", calculate_linear_regressor_output_shapes, convert_xgboost)
    with contextlib.suppress(ImportError):
        import lightgbm
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(lightgbm.LGBMClassifier, "LightGbmLGBMClassifier", calculate_linear_classifier_output_shapes, convert_lightgbm, options=classifier_options)
        update_registered_converter(lightgbm.LGBMRegressor, "LightGbmLGBMRegressor", calculate_linear_regressor_output_shapes, convert_lightgbm, options={"split": None})


# onnxmltools' XGBoost and LightGBM converters write ai.onnx.ml opset 3 at most
# (skl2onnx would otherwise pick 5 for opset 18 and refuse them).
ML_OPSET = 3


def export_sklearn(req, model, spec, say):
    from sklearn.base import is_classifier
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    say(f"converting with skl2onnx (opset {req.opset})")
    tensor_type = DoubleTensorType if spec.datatype == "FP64" else FloatTensorType
    batch = None if spec.dims[0] < 0 else spec.dims[0]
    # zipmap=False: label and probabilities come out as plain tensors instead
    # of a sequence of maps. Keyed by id() so it reaches the final estimator,
    # also inside a Pipeline.
    options = {id(step): {"zipmap": False} for step in estimator_steps(model) if is_classifier(step)}
    try:
        proto = to_onnx(
            model, initial_types=[(spec.name, tensor_type([batch, spec.dims[1]]))],
            target_opset={"": req.opset, "ai.onnx.ml": ML_OPSET}, options=options or None,
        )
    except Exception as exc:
        raise export_error(exc, "skl2onnx.to_onnx") from exc
    return proto, "skl2onnx.to_onnx"


def estimator_steps(model):
    yield model
    for _, step in getattr(model, "steps", []):
        yield from estimator_steps(step)


# --- ONNX ------------------------------------------------------------------


def load_onnx(req, say):
    say(f"loading {req.source} (onnx)")
    try:
        model = onnx.load(req.source)
    except Exception as exc:
        raise ConvertError("unreadable", f"{os.path.basename(req.source)} is not a readable ONNX model: {cause(exc)}") from exc
    known = [TensorSpec(i.name, value_datatype(i), value_dims(i)) for i in graph_inputs(model)]
    # A fixed batch in the model stays fixed: making it symbolic could break its reshapes.
    dynamic = not req.static_batch and all(d[0] < 0 for d in (s.dims for s in known) if d)
    inputs = resolve_inputs(req, known)
    for spec, own in zip(inputs, known):
        if own.dims and own.dims[0] > 0:
            spec.dims[0] = own.dims[0]
    session = ort_session(model.SerializeToString(), "the source model")
    names = [s.name for s in known]

    def run(arrays):
        return session.run(None, dict(zip(names, arrays)))

    def export():
        return model, "onnx (loaded and saved again)"

    return Source("onnx", "onnx", inputs, [o.name for o in model.graph.output], run, export, {"framework": onnx.__version__, "converter": f"onnx {onnx.__version__}"}, dynamic)


LOADERS = {"pytorch": load_pytorch, "tensorflow": load_tensorflow, "sklearn": load_sklearn, "onnx": load_onnx}


# ---------------------------------------------------------------------------
# The ONNX model: names, batch dimension, checks, sessions


def value_datatype(value):
    return ONNX_TO_KSERVE.get(value.type.tensor_type.elem_type, "BYTES")


def value_dims(value):
    shape = value.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else -1 for d in shape.dim]


def graph_inputs(model):
    initializers = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def align_outputs(model, source):
    """Puts the ONNX outputs in the source's order, when the converter named them like the source."""
    wanted = source.onnx_output_names or source.output_names
    outputs = list(model.graph.output)
    if len(outputs) != len(source.output_names):
        raise ConvertError("export_failed", f"the ONNX model has {len(outputs)} outputs; the source model has {len(source.output_names)}")
    by_name = {o.name: o for o in outputs}
    if set(by_name) == set(wanted) and [o.name for o in outputs] != wanted:
        reordered = [by_name[n] for n in wanted]
        del model.graph.output[:]
        model.graph.output.extend(reordered)


def rename_io(model, input_names, output_names):
    mapping = {}
    for value, name in zip(graph_inputs(model), input_names):
        if value.name != name:
            mapping[value.name] = name
    for value, name in zip(model.graph.output, output_names):
        if value.name != name:
            mapping[value.name] = name
    if not mapping:
        return
    taken = all_value_names(model.graph) - set(mapping)
    clash = [n for n in mapping.values() if n in taken]
    if clash:
        raise ConvertError("bad_request", f"the name {clash[0]} is already used inside the converted model; choose another")
    rename_values(model.graph, mapping)


def all_value_names(graph):
    names = {v.name for v in list(graph.input) + list(graph.output) + list(graph.value_info)}
    names |= {i.name for i in graph.initializer}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
    return names


def rename_values(graph, mapping):
    """Renames values everywhere, subgraphs (If/Loop/Scan bodies) included: they may use outer names."""
    for value in list(graph.input) + list(graph.output) + list(graph.value_info) + list(graph.initializer):
        value.name = mapping.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
        for attribute in node.attribute:
            if attribute.HasField("g"):
                rename_values(attribute.g, mapping)
            for subgraph in attribute.graphs:
                rename_values(subgraph, mapping)


def name_batch_dims(model):
    """Names every symbolic leading dimension of the model's inputs and outputs "batch".

    Converters name it "s0", "unk__12" or leave it unnamed; outputs that
    really follow the batch are confirmed by the verification.
    """
    for value in graph_inputs(model) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims) and not dims[0].HasField("dim_value"):
            dims[0].dim_param = BATCH_DIM


def batch_is_dynamic(model):
    for value in graph_inputs(model):
        dims = value.type.tensor_type.shape.dim
        if len(dims) and dims[0].HasField("dim_value"):
            return False
    return True


def merge_opset_imports(model):
    """One opset entry per domain (skl2onnx can list the default domain twice)."""
    versions = {}
    for entry in model.opset_import:
        versions[entry.domain] = max(versions.get(entry.domain, 0), entry.version)
    del model.opset_import[:]
    model.opset_import.extend(onnx.helper.make_opsetid(domain, version) for domain, version in versions.items())


def opset_of(model):
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def run_checks(model):
    checks = []
    for name, check in (
        ("onnx.checker (full_check)", lambda: onnx.checker.check_model(model, full_check=True)),
        ("shape inference (strict)", lambda: onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)),
    ):
        try:
            check()
            checks.append({"name": name, "passed": True, "detail": ""})
        except Exception as exc:
            checks.append({"name": name, "passed": False, "detail": cause(exc)})
    return checks


def ort_session(model, what, options=None):
    """An onnxruntime CPU session; a model it cannot run is the user's unsupported operator."""
    options = options or ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        kind = "unsupported_operator" if UNSUPPORTED.search(chain_text(exc)) else "export_failed"
        raise ConvertError(kind, f"onnxruntime {ort.__version__} cannot load {what}: {cause(exc)}") from exc


# ---------------------------------------------------------------------------
# Verification cases


@dataclass
class Case:
    number: int
    name: str
    batch: int
    origin: str  # "random" or the sample's path
    arrays: list
    seed: int = None


def random_array(rng, spec, shape):
    """Standard normal floats (uniform 0..1 for image-like 4-D inputs), ints 0..9, random bools."""
    dtype = spec.numpy_dtype()
    if spec.datatype == "BOOL":
        return rng.random(shape) < 0.5
    if spec.datatype == "BYTES":
        return np.array([f"s{v}".encode() for v in rng.integers(0, 10, int(np.prod(shape)))], dtype=object).reshape(shape)
    if dtype.kind in "iu":
        return rng.integers(0, 10, shape).astype(dtype)
    values = rng.random(shape) if len(shape) == 4 else rng.standard_normal(shape)
    return values.astype(dtype)


def make_cases(req, inputs, dynamic):
    batches = [int(b) for b in req.batch_sizes] if dynamic else [batch_of(inputs, req)]
    cases = []
    for batch in batches:
        number = len(cases) + 1
        rng = np.random.default_rng(req.seed + number)
        arrays = [random_array(rng, s, concrete_shape(s, batch)) for s in inputs]
        cases.append(Case(number, f"random batch {batch}", batch, "random", arrays, req.seed + number))
    for path in req.samples:
        arrays = read_sample(path, inputs)
        batch = int(arrays[0].shape[0]) if arrays[0].ndim else 1
        if not dynamic and batch != batches[0]:
            raise ConvertError("bad_request", f"sample {os.path.basename(path)} has batch {batch}; the model's batch is fixed at {batches[0]}")
        cases.append(Case(len(cases) + 1, f"sample {os.path.basename(path)}", batch, path, arrays))
    return cases


def batch_of(inputs, req):
    for spec in inputs:
        if spec.dims and spec.dims[0] > 0:
            return spec.dims[0]
    return int(req.batch_sizes[0])


def read_sample(path, inputs):
    """Arrays in input order from a .npz keyed by input name or a KServe v2 JSON request."""
    name = os.path.basename(path)
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as archive:
                found = {k: archive[k] for k in archive.files}
        else:
            with open(path) as f:
                document = json.load(f)
            found = {t["name"]: v2_tensor(t) for t in document["inputs"]}
    except ConvertError:
        raise
    except Exception as exc:
        raise ConvertError("unreadable", f"cannot read sample {name}: {cause(exc)}") from exc
    arrays = []
    for spec in inputs:
        if spec.name not in found:
            raise ConvertError("bad_request", f"sample {name} has no input {spec.name!r} (it has {', '.join(map(repr, found)) or 'nothing'})")
        array = found[spec.name]
        if spec.datatype != "BYTES":
            array = array.astype(spec.numpy_dtype(), copy=False)
        if spec.dims and array.ndim != len(spec.dims):
            raise ConvertError("bad_request", f"sample {name}: input {spec.name} has shape {list(array.shape)}; the model expects {spec.dims}")
        arrays.append(array)
    return arrays


def v2_tensor(tensor):
    datatype = tensor["datatype"]
    if datatype not in KSERVE_TO_NUMPY:
        raise ConvertError("bad_request", f"datatype {datatype} of {tensor['name']} is not supported")
    data = np.array(tensor["data"], dtype=object if datatype == "BYTES" else KSERVE_TO_NUMPY[datatype])
    if datatype == "BYTES":
        data = np.array([d.encode() if isinstance(d, str) else d for d in data.ravel()], dtype=object)
    return data.reshape(tensor["shape"])


# ---------------------------------------------------------------------------
# Comparing outputs


def tolerance_for(datatype, req):
    if datatype not in DEFAULT_TOLERANCES:
        return EXACT
    atol, rtol = DEFAULT_TOLERANCES[datatype]
    return (req.atol if req.atol is not None else atol, req.rtol if req.rtol is not None else rtol)


def compare(name, datatype, expected, actual, tolerance, agreement):
    """max_abs, max_rel and allclose-style pass for one output, plus classifier agreement when asked."""
    atol, rtol = tolerance
    result = {"name": name, "max_abs": None, "max_rel": None, "atol": atol, "rtol": rtol, "passed": False,
              "argmax_agreement": None, "top5_agreement": None}
    expected, actual = np.asarray(expected), np.asarray(actual)
    if expected.shape != actual.shape and expected.size == actual.size:
        expected = expected.reshape(actual.shape)  # scikit-learn gives (N,) where ONNX gives (N, 1)
    if expected.shape != actual.shape:
        result["detail"] = f"shape {list(actual.shape)}, expected {list(expected.shape)}"
        return result
    if datatype == "BYTES" or expected.dtype == object or actual.dtype == object:
        equal = np.array([as_bytes(e) == as_bytes(a) for e, a in zip(expected.ravel(), actual.ravel())], dtype=bool)
        result.update(max_abs=float(not equal.all()), max_rel=float(not equal.all()), passed=bool(equal.all()))
        if agreement:
            add_label_agreement(result, equal, actual)
        return result
    e, a = expected.astype(np.float64), actual.astype(np.float64)
    same = (e == a) | (np.isnan(e) & np.isnan(a))  # equal infinities and NaN in both places agree
    diff = np.where(same, 0.0, np.abs(a - e))
    if not np.isfinite(diff).all():
        result["detail"] = "NaN or infinity where the other side has a finite value"
        return result
    result["max_abs"] = float(diff.max()) if diff.size else 0.0
    nonzero = np.abs(e) > 0
    result["max_rel"] = float((diff[nonzero] / np.abs(e[nonzero])).max()) if nonzero.any() else 0.0
    result["passed"] = bool((diff <= atol + rtol * np.abs(np.where(np.isfinite(e), e, 0.0))).all())
    if agreement and datatype in DEFAULT_TOLERANCES:
        add_argmax_agreement(result, e, a)
    elif agreement:
        add_label_agreement(result, same, actual)
    return result


def as_bytes(value):
    return value.encode() if isinstance(value, str) else bytes(value)


def add_argmax_agreement(result, expected, actual):
    """For 2-D scores with more than one column (probabilities, logits): top-1 and top-5 agreement.

    top-5 agreement is the fraction of rows whose five highest-scoring classes are the same set.
    """
    if expected.ndim != 2 or expected.shape[1] < 2 or expected.shape[0] == 0:
        return
    result["argmax_agreement"] = float((expected.argmax(1) == actual.argmax(1)).mean())
    if expected.shape[1] >= 5:
        top_e = np.sort(np.argsort(-expected, axis=1, kind="stable")[:, :5], axis=1)
        top_a = np.sort(np.argsort(-actual, axis=1, kind="stable")[:, :5], axis=1)
        result["top5_agreement"] = float((top_e == top_a).all(axis=1).mean())


def add_label_agreement(result, equal, actual):
    """A label output (integer or string, one per row): the fraction of rows that agree."""
    if actual.ndim == 1 or (actual.ndim == 2 and actual.shape[1] == 1):
        result["argmax_agreement"] = float(equal.mean()) if equal.size else 1.0


def compare_case(source, names, datatypes, expected, actual, tolerances):
    """Compares one case's outputs; classifier agreement unless the source is known not to classify."""
    agreement = source.classifier is not False
    return [compare(n, d, e, a, t, agreement) for n, d, e, a, t in zip(names, datatypes, expected, actual, tolerances)]


# ---------------------------------------------------------------------------
# Optimization and quantization


def ort_optimize(model_path, out_path):
    """onnxruntime's offline optimization at the extended level.

    Not ALL: the layout optimizations of the level above are specific to the
    machine that runs them, and the model is served elsewhere.
    """
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = out_path
    ort_session(model_path, "the model to optimize", options)


def quantize_int8(float_path, out_path, inputs, calibration):
    """Dynamic int8 (weights only) without a calibration file; static (QDQ) calibrated on it otherwise."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    if calibration is None:
        quantize_dynamic(float_path, out_path, weight_type=QuantType.QInt8)
        return "dynamic"
    # onnxruntime's guidance for x86 CPUs: unsigned activations, signed weights;
    # ARM kernels prefer signed activations.
    x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    quantize_static(
        float_path, out_path, calibration_reader(calibration, inputs),
        quant_format=QuantFormat.QDQ, weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8 if x86 else QuantType.QInt8,
    )
    return "static"


def calibration_reader(path, inputs):
    """Feeds the calibration .npz to the calibrator in small batches (the model's own when fixed)."""
    from onnxruntime.quantization import CalibrationDataReader

    arrays = read_sample(path, inputs)
    rows = int(arrays[0].shape[0])
    fixed = inputs[0].dims[0] if inputs[0].dims and inputs[0].dims[0] > 0 else None
    step = fixed or min(8, rows)
    if rows < step:
        raise ConvertError("bad_request", f"the calibration file has {rows} rows; the model's batch is {step}")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter(
                {s.name: a[start:start + step] for s, a in zip(inputs, arrays)}
                for start in range(0, rows - step + 1, step)
            )

        def get_next(self):
            return next(self.batches, None)

    return Reader()


def median_latencies_ms(first, second, inputs, arrays):
    """Median latency of two sessions on the same batch, runs interleaved so background load hits both alike."""
    feeds = {s.name: a for s, a in zip(inputs, arrays)}
    for _ in range(LATENCY_WARMUP):
        first.run(None, feeds)
        second.run(None, feeds)
    times = ([], [])
    for _ in range(LATENCY_RUNS):
        for session, bucket in zip((first, second), times):
            start = time.perf_counter()
            session.run(None, feeds)
            bucket.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


# ---------------------------------------------------------------------------
# Writing results


def tensor_bytes(array):
    """Raw little-endian C-order bytes; BYTES as a 4-byte little-endian length before each element."""
    if array.dtype == object or array.dtype.kind in "SU":
        out = bytearray()
        for element in array.ravel():
            data = as_bytes(element)
            out += len(data).to_bytes(4, "little") + data
        return bytes(out)
    return np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def write_case(work_dir, case, inputs, output_names, outputs):
    directory = os.path.join(work_dir, "cases", str(case.number))
    os.makedirs(directory, exist_ok=True)
    manifest = {"name": case.name, "inputs": [], "outputs": []}
    for kind, names, arrays in (("input", [s.name for s in inputs], case.arrays), ("output", output_names, outputs)):
        for k, (name, array) in enumerate(zip(names, arrays)):
            array = np.asarray(array)
            file = f"{kind}_{k}.bin"
            with open(os.path.join(directory, file), "wb") as f:
                f.write(tensor_bytes(array))
            manifest[kind + "s"].append({"name": name, "datatype": kserve_of(array.dtype), "shape": list(array.shape), "file": file})
    write_json(os.path.join(directory, "manifest.json"), manifest)
    return os.path.relpath(directory, work_dir)


def write_json(path, document):
    with open(path, "w") as f:
        json.dump(document, f, indent=1, allow_nan=False)
        f.write("\n")


def io_entries(values):
    return [{"name": v.name, "datatype": value_datatype(v), "dims": value_dims(v)} for v in values]


def write_error(work_dir, kind, message):
    if work_dir and os.path.isdir(work_dir):
        write_json(os.path.join(work_dir, "error.json"), {"kind": kind, "message": message})


# ---------------------------------------------------------------------------
# The conversion


@contextlib.contextmanager
def timed(timings, stage):
    start = time.perf_counter()
    yield
    timings[stage] = round(time.perf_counter() - start, 3)


def convert(req, say):
    timings = {}
    with timed(timings, "load"):
        source = LOADERS[req.framework](req, say)
    with timed(timings, "convert"):
        model, converter = onnx_model(req, source)
    output_names = [o.name for o in model.graph.output]
    datatypes = [value_datatype(o) for o in model.graph.output]
    tolerances = [tolerance_for(d, req) for d in datatypes]
    dynamic = batch_is_dynamic(model)

    say("checking the ONNX model")
    checks = run_checks(model)
    session = ort_session(model.SerializeToString(), "the converted model")
    with timed(timings, "verify"):
        cases = make_cases(req, source.inputs, dynamic)
        expected, float_outputs, case_reports = [], [], []
        for case in cases:
            say(f"verifying {case.name}")
            expected.append(run_source(source, case))
            float_outputs.append(run_onnx(session, source, case, "the converted model"))
            case_reports.append({
                "name": case.name, "seed": case.seed, "batch": case.batch, "source": case.origin,
                "outputs": compare_case(source, output_names, datatypes, expected[-1], float_outputs[-1], tolerances),
            })
    checks.append(batch_check(model, cases, float_outputs))

    optimize_report = quantize_report = None
    with tempfile.TemporaryDirectory(dir=req.work_dir, prefix=".ferry-") as scratch:
        float_path = os.path.join(scratch, "float.onnx")
        onnx.save(model, float_path)
        served_path, served_session = float_path, session
        if req.optimize:
            with timed(timings, "optimize"):
                served_path, served_session, optimize_report = optimize_stage(
                    req, source, float_path, scratch, cases, expected, output_names, datatypes, tolerances, say)
        if req.quantize:
            with timed(timings, "quantize"):
                served_path, served_session, quantize_report = quantize_stage(
                    req, source, float_path, served_session, scratch, cases, float_outputs, output_names, datatypes, say)
        served = onnx.load(served_path)
        onnx.save(served, os.path.join(req.work_dir, "model.onnx"))

    for case, case_report in zip(cases, case_reports):
        outputs = run_onnx(served_session, source, case, "the served model")
        case_report["dir"] = write_case(req.work_dir, case, source.inputs, output_names, outputs)

    report = {
        "framework": source.framework,
        "format": source.format,
        "versions": versions(source),
        "converter": converter,
        "opset": opset_of(model),
        "inputs": io_entries(graph_inputs(served)),
        "outputs": io_entries(served.graph.output),
        "dynamic_batch": dynamic,
        "classifier": any(o["argmax_agreement"] is not None for c in case_reports for o in c["outputs"]),
        "checks": checks,
        "tolerances": {d: {"atol": t[0], "rtol": t[1]} for d, t in zip(datatypes, tolerances)},
        "cases": case_reports,
        "optimize": optimize_report,
        "quantize": quantize_report,
        "timings_s": timings,
        "warnings": source.warnings,
    }
    report["passed"] = passed(report)
    return report


def onnx_model(req, source):
    """The converted model with its final input/output names and a "batch" leading dimension."""
    model, converter = source.export()
    align_outputs(model, source)
    merge_opset_imports(model)
    output_names = req.output_names or source.output_names
    if len(output_names) != len(model.graph.output):
        raise ConvertError("bad_request", f"the request names {len(output_names)} outputs; the model has {len(model.graph.output)}")
    rename_io(model, [s.name for s in source.inputs], output_names)
    if source.dynamic_batch:
        name_batch_dims(model)
    return model, converter


def run_source(source, case):
    try:
        return source.run(case.arrays)
    except Exception as exc:
        hint = "" if case.origin != "random" else " (give --sample inputs if it needs particular values)"
        raise ConvertError("bad_request", f"the source model fails on {case.name}{hint}: {cause(exc)}") from exc


def run_onnx(session, source, case, what):
    try:
        return session.run(None, {s.name: a for s, a in zip(source.inputs, case.arrays)})
    except Exception as exc:
        raise ConvertError("export_failed", f"onnxruntime fails running {what} on {case.name}: {cause(exc)}") from exc


def batch_check(model, cases, outputs):
    """Outputs named with the batch dimension must follow the batch in every random case."""
    batched = [i for i, o in enumerate(model.graph.output) if value_dims_params(o)[:1] == [BATCH_DIM]]
    wrong = sorted({
        model.graph.output[i].name
        for case, values in zip(cases, outputs) if case.origin == "random"
        for i in batched if np.asarray(values[i]).shape[:1] != (case.batch,)
    })
    detail = f"outputs whose first dimension is not the batch: {', '.join(wrong)}" if wrong else ""
    return {"name": "outputs follow the batch dimension", "passed": not wrong, "detail": detail}


def value_dims_params(value):
    return [d.dim_param for d in value.type.tensor_type.shape.dim]


def optimize_stage(req, source, float_path, scratch, cases, expected, output_names, datatypes, tolerances, say):
    say("optimizing with onnxruntime (extended)")
    path = os.path.join(scratch, "optimized.onnx")
    ort_optimize(float_path, path)
    session = ort_session(path, "the optimized model")
    reports = []
    for case, wanted in zip(cases, expected):
        say(f"verifying {case.name} (optimized)")
        actual = run_onnx(session, source, case, "the optimized model")
        reports.append({"name": case.name, "outputs": compare_case(source, output_names, datatypes, wanted, actual, tolerances)})
    # A server optimizes every model online when it loads it, so an offline
    # optimized graph mostly saves load time: measure both that and latency.
    say(f"timing the converted and optimized models ({LATENCY_RUNS} runs at batch 1)")
    original_load_s, original = timed_session(float_path, "the converted model")
    optimized_load_s, session = timed_session(path, "the optimized model")
    rng = np.random.default_rng(req.seed)
    batch1 = [random_array(rng, s, concrete_shape(s, s.dims[0] if s.dims and s.dims[0] > 0 else 1)) for s in source.inputs]
    original_ms, optimized_ms = median_latencies_ms(original, session, source.inputs, batch1)
    return path, session, {
        "level": "extended",
        "original_load_s": round(original_load_s, 4),
        "optimized_load_s": round(optimized_load_s, 4),
        "original_latency_ms": round(original_ms, 4),
        "optimized_latency_ms": round(optimized_ms, 4),
        "cases": reports,
    }


def timed_session(path, what):
    start = time.perf_counter()
    session = ort_session(path, what)
    return time.perf_counter() - start, session


def quantize_stage(req, source, float_path, float_session, scratch, cases, float_outputs, output_names, datatypes, say):
    """Quantizes the converted float model (re-optimized after, when asked) and reports its deltas."""
    mode = "static" if req.calibration else "dynamic"
    say(f"quantizing ({mode} int8)")
    # The quantizer rewrites nodes (Gemm into MatMul + Add, ...) and then runs
    # shape inference, which trips over the shapes exporters cache in
    # value_info (torch.onnx's dynamo exporter): give it the model without them.
    bare = onnx.load(float_path)
    del bare.graph.value_info[:]
    bare_path = os.path.join(scratch, "float-bare.onnx")
    onnx.save(bare, bare_path)
    path = os.path.join(scratch, "quantized.onnx")
    try:
        quantize_int8(bare_path, path, source.inputs, req.calibration)
    except ConvertError:
        raise
    except Exception as exc:
        raise ConvertError("export_failed", f"onnxruntime quantization failed: {cause(exc)}") from exc
    if req.optimize:
        optimized = os.path.join(scratch, "quantized-optimized.onnx")
        ort_optimize(path, optimized)
        path = optimized
    session = ort_session(path, "the quantized model")
    reports = []
    for case, wanted in zip(cases, float_outputs):
        say(f"comparing {case.name} (quantized vs float)")
        actual = run_onnx(session, source, case, "the quantized model")
        outputs = compare_case(source, output_names, datatypes, wanted, actual, [EXACT] * len(wanted))
        for output in outputs:
            # Tolerances do not apply to a quantized model: only a classifier
            # whose top-1 agreement with the float model drops below
            # QUANTIZED_MIN_AGREEMENT fails.
            agreement = output["argmax_agreement"]
            output["passed"] = agreement is None or agreement >= QUANTIZED_MIN_AGREEMENT
            output["atol"] = output["rtol"] = None
        reports.append({"name": case.name, "outputs": outputs})
    say(f"timing float and quantized models ({LATENCY_RUNS} runs at batch 1)")
    rng = np.random.default_rng(req.seed)
    batch1 = [random_array(rng, s, concrete_shape(s, s.dims[0] if s.dims and s.dims[0] > 0 else 1)) for s in source.inputs]
    float_ms, quantized_ms = median_latencies_ms(float_session, session, source.inputs, batch1)
    return path, session, {
        "mode": mode,
        "note": quantization_note(path, mode, float_ms, quantized_ms),
        "float_latency_ms": round(float_ms, 4),
        "quantized_latency_ms": round(quantized_ms, 4),
        "speedup": round(float_ms / quantized_ms, 3) if quantized_ms > 0 else None,
        "float_size_bytes": os.path.getsize(float_path),
        "quantized_size_bytes": os.path.getsize(path),
        "cases": reports,
    }


def quantization_note(path, mode, float_ms, quantized_ms):
    """Why a quantized model may not pay off, when it does not; else ""."""
    weights = onnx.load(path).graph.initializer
    if not any(w.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8) for w in weights):
        return "nothing was quantized: onnxruntime quantizes MatMul, Gemm, Conv and similar operators, and this model has none it could"
    if quantized_ms >= float_ms:
        if mode == "dynamic":
            return "the quantized model is slower here: dynamic quantization pays off for large MatMul/Gemm layers (transformers, RNNs); for convolutional models give a calibration file for static quantization"
        return "the quantized model is not faster on this CPU"
    return ""


def versions(source):
    found = {
        "python": platform.python_version(),
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
    }
    found.update(source.versions)
    return found


def passed(report):
    outputs = [o for c in report["cases"] for o in c["outputs"]]
    for stage in ("optimize", "quantize"):
        if report[stage]:
            outputs += [o for c in report[stage]["cases"] for o in c["outputs"]]
    return all(c["passed"] for c in report["checks"]) and all(o["passed"] for o in outputs)


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} REQUEST.json", file=sys.stderr)
        return 2
    say = Progress()
    work_dir = None
    try:
        raw = read_json_object(argv[1])
        work_dir = raw.get("work_dir") if isinstance(raw.get("work_dir"), str) else None
        req = parse_request(raw)
        report = convert(req, say)
        write_json(os.path.join(req.work_dir, "report.json"), report)
        say(f"{'passed' if report['passed'] else 'FAILED'}: wrote {os.path.join(req.work_dir, 'model.onnx')}")
        return 0
    except ConvertError as exc:
        traceback.print_exc()
        write_error(work_dir, exc.kind, exc.message)
        say(f"error ({exc.kind}): {exc.message}")
        return 2
    except Exception as exc:  # anything else is a bug here, not the user's
        traceback.print_exc()
        message = f"internal error: {cause(exc)}"
        write_error(work_dir, "internal", message)
        say(message)
        return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
