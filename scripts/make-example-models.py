#!/usr/bin/env python3
"""Train and export the example model(s) served from examples/models/.

Run with the project venv (see scripts/python-env):

    .deps/venv/bin/python scripts/make-example-models.py

digits: a scikit-learn Pipeline(StandardScaler, MLPClassifier) trained on the
8x8 handwritten digits data set that ships with scikit-learn
(sklearn.datasets.load_digits), exported with skl2onnx (no ZipMap):

    input          FP32  [-1, 64]   pixel intensities 0..16, row-major 8x8
    label          INT64 [-1]       predicted digit
    probabilities  FP32  [-1, 10]   class probabilities

Writes:
    examples/models/digits/1/model.onnx
    examples/models/digits/config.pbtxt         (Triton-style model config)
    examples/requests/digits.json               (v2 inference request, one test image)
    examples/requests/digits.expected.json      ({"labels": [...]}, the true label)

Deterministic: fixed split and model seeds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

SCRIPT = Path(__file__).resolve()
REPO_ROOT = SCRIPT.parent.parent
SEED = 42
OPSET = 17
ML_OPSET = 3

CONFIG_PBTXT = """\
# Triton-style model configuration for the digits example.
# With max_batch_size > 0 the batch dimension is implicit and not part of dims.
# "label" is [batch] in the ONNX model, so it is declared dims [1] and reshaped
# to a scalar per batch item.
name: "digits"
platform: "onnxruntime_onnx"
max_batch_size: 64
input [
  {
    name: "input"
    data_type: TYPE_FP32
    dims: [ 64 ]
  }
]
output [
  {
    name: "label"
    data_type: TYPE_INT64
    dims: [ 1 ]
    reshape: { shape: [ ] }
  },
  {
    name: "probabilities"
    data_type: TYPE_FP32
    dims: [ 10 ]
  }
]
"""


def train():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    X = digits.data.astype(np.float32)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=SEED, stratify=y)
    pipe = Pipeline([
        ("scaler", StandardScaler()),
        ("mlp", MLPClassifier(hidden_layer_sizes=(32,), alpha=1e-3, max_iter=500,
                              random_state=SEED)),
    ])
    pipe.fit(X_train, y_train)
    accuracy = float(pipe.score(X_test, y_test))
    return pipe, X_test, y_test, accuracy


def convert(pipe, accuracy: float, n_test: int) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    model = convert_sklearn(
        pipe, name="digits",
        initial_types=[("input", FloatTensorType([None, 64]))],
        final_types=[("label", Int64TensorType([None])),
                     ("probabilities", FloatTensorType([None, 10]))],
        options={id(pipe.steps[-1][1]): {"zipmap": False}},
        target_opset={"": OPSET, "ai.onnx.ml": ML_OPSET})

    # Deterministic opset_import: one entry per domain, sorted.
    opsets: dict[str, int] = {}
    for o in model.opset_import:
        opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
    del model.opset_import[:]
    for dom, ver in sorted(opsets.items()):
        model.opset_import.append(helper.make_opsetid(dom, ver))

    model.producer_name = "ferry examples"
    model.producer_version = "1"
    model.domain = "dev.ferry.examples"
    model.model_version = 1
    model.doc_string = (
        "Handwritten digit classifier (8x8 images, pixel values 0..16, flattened row-major "
        "to 64 FP32 values). scikit-learn StandardScaler + MLPClassifier(32 hidden) trained on "
        f"sklearn.datasets.load_digits; test accuracy {accuracy:.4f} on {n_test} held-out images.")
    model.graph.doc_string = "digits classifier: input[N,64] -> label[N], probabilities[N,10]"
    helper.set_model_props(model, {
        "dataset": "sklearn.datasets.load_digits",
        "test_accuracy": f"{accuracy:.4f}",
        "classes": "0,1,2,3,4,5,6,7,8,9",
    })
    onnx.checker.check_model(model, full_check=True)
    return model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=Path, default=REPO_ROOT / "examples", help="examples directory")
    args = ap.parse_args()

    pipe, X_test, y_test, accuracy = train()
    print(f"digits: test accuracy {accuracy:.4f} ({len(y_test)} test images)")
    model = convert(pipe, accuracy, len(y_test))
    data = model.SerializeToString(deterministic=True)

    # Check the exported model with onnxruntime on the whole test split.
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == ["label", "probabilities"]
    labels, probs = sess.run(None, {"input": X_test})
    onnx_acc = float(np.mean(labels == y_test))
    agree = float(np.mean(labels == pipe.predict(X_test)))
    print(f"digits: onnxruntime accuracy {onnx_acc:.4f}, agreement with scikit-learn {agree:.4f}")
    if agree < 0.99:
        raise RuntimeError("ONNX model disagrees with scikit-learn")

    # Example request: the first test image that the model classifies correctly.
    idx = next(i for i in range(len(y_test)) if labels[i] == y_test[i])
    image = X_test[idx:idx + 1]
    got = sess.run(["label"], {"input": image})[0]
    assert int(got[0]) == int(y_test[idx])
    request = {"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32",
                           "data": [float(v) for v in image.reshape(-1)]}]}
    expected = {"labels": [int(y_test[idx])]}

    model_dir = args.examples / "models" / "digits"
    (model_dir / "1").mkdir(parents=True, exist_ok=True)
    (model_dir / "1" / "model.onnx").write_bytes(data)
    (model_dir / "config.pbtxt").write_text(CONFIG_PBTXT)
    req_dir = args.examples / "requests"
    req_dir.mkdir(parents=True, exist_ok=True)
    (req_dir / "digits.json").write_text(json.dumps(request) + "\n")
    (req_dir / "digits.expected.json").write_text(json.dumps(expected) + "\n")

    print(f"digits: model {len(data)} bytes -> {model_dir / '1' / 'model.onnx'}")
    print(f"digits: request uses test image #{idx}, true label {expected['labels'][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
