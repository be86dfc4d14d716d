#!/usr/bin/env python3
"""Writes the source models that `ferry convert`'s tests convert.

Usage: make_source_models.py FRAMEWORK OUTDIR

Run it with the interpreter of the framework's converter environment
(converters/requirements-<framework>.txt), e.g. the one `ferry convert`
creates. Seeds are fixed, so the same environment writes the same models.
Prints one line per file written.

pytorch:    resnet18.pt (TorchScript, traced; input [B,3,224,224] fp32)
            two_io.pt2 (ExportedProgram, dynamic batch: x [B,8], y [B,4] fp32
              -> two outputs [B,3], [B,1])
            two_io_module.py + two_io.safetensors + two_io.pth (the same
              module for --module two_io_module:build; give x and y dims)
            drifting.pt (TorchScript, x [B,64] fp32 -> [B,64]) whose ONNX
              export drifts beyond tolerance with either exporter
            unsupported.pt (TorchScript, x [B,4,4] fp32): torch.linalg.eigvalsh,
              which no ONNX exporter converts
tensorflow: keras_savedmodel/ (SavedModel, serving_default: features [None,16]
              fp32 -> probabilities [None,5]), keras_model.keras (the same model)
            frozen.pb: --inputs x:0 ([None,4] fp32) --outputs y:0
sklearn:    pipeline.joblib (StandardScaler + LogisticRegression, 10 features,
              3 classes), xgb.joblib (XGBClassifier, 20 features, 50 trees),
            lgbm.joblib (LGBMRegressor, 12 features)
            old_sklearn.joblib: a pipeline as an older scikit-learn would
              have pickled it (version 1.3.2, a module path that has moved)
"""

import os
import sys

SEED = 20261204

# The --module fixture: written out as a file so the converter imports it the
# way a user's module is imported (factory `two_io_module:build`).
TWO_IO_MODULE = '''"""Two inputs, two outputs: the --module fixture of ferry convert's tests."""

import torch


class TwoIO(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fx = torch.nn.Linear(8, 6)
        self.fy = torch.nn.Linear(4, 6)
        self.head = torch.nn.Linear(6, 3)

    def forward(self, x, y):
        h = torch.relu(self.fx(x) + self.fy(y))
        return self.head(h), h.sum(dim=1, keepdim=True)


def build():
    return TwoIO().eval()
'''


def wrote(path):
    print(f"wrote {path}")


def write_check(out, name, inputs, outputs):
    """NAME.check.json: inputs and what the source framework answered for
    them, positionally, for the test that compares served answers with the
    source's. Inputs are float32-exact, so every side sees the same values."""
    import json

    import numpy as np

    def tensor(array, datatype):
        array = np.asarray(array)
        return {"shape": list(array.shape), "datatype": datatype, "data": array.flatten().tolist()}

    document = {
        "inputs": [tensor(array, "FP32") for array in inputs],
        "outputs": [tensor(array, datatype) for array, datatype in outputs],
    }
    path = os.path.join(out, name + ".check.json")
    with open(path, "w") as f:
        json.dump(document, f)
    wrote(path)


def make_pytorch(out):
    import importlib

    import torch
    from safetensors.torch import save_file

    torch.manual_seed(SEED)
    _import_torchvision()
    import torchvision

    resnet = torchvision.models.resnet18(weights=None).eval()
    traced = torch.jit.trace(resnet, torch.rand(1, 3, 224, 224))
    path = os.path.join(out, "resnet18.pt")
    traced.save(path)
    wrote(path)
    images = torch.rand(2, 3, 224, 224)
    with torch.no_grad():
        write_check(out, "resnet18", [images.numpy()], [(resnet(images).numpy(), "FP32")])

    module_path = os.path.join(out, "two_io_module.py")
    with open(module_path, "w") as f:
        f.write(TWO_IO_MODULE)
    wrote(module_path)
    sys.path.insert(0, out)
    two_io = importlib.import_module("two_io_module").build()

    batch = torch.export.Dim("batch")
    example = (torch.randn(2, 8), torch.randn(2, 4))
    program = torch.export.export(two_io, example, dynamic_shapes=({0: batch}, {0: batch}))
    path = os.path.join(out, "two_io.pt2")
    torch.export.save(program, path)
    wrote(path)
    x, y = torch.randn(3, 8), torch.randn(3, 4)
    with torch.no_grad():
        first, second = two_io(x, y)
    write_check(out, "two_io", [x.numpy(), y.numpy()], [(first.numpy(), "FP32"), (second.numpy(), "FP32")])

    state = {k: v.contiguous() for k, v in two_io.state_dict().items()}
    path = os.path.join(out, "two_io.safetensors")
    save_file(state, path)
    wrote(path)
    path = os.path.join(out, "two_io.pth")
    torch.save(state, path)
    wrote(path)

    class Drifting(torch.nn.Module):
        """A chaotic map: 40 steps of the logistic map r*y*(1-y) with r = 3.99.

        A TorchScript file carries no Python, so it cannot branch on "being
        exported"; instead this model amplifies the last-bit difference
        between PyTorch's and ONNX Runtime's sigmoid (each step roughly
        doubles it) until the outputs differ by O(1). The export itself is
        faithful; the numbers are not, which is what the test needs: input
        x [B, 64] fp32, output [B, 64]; fails with either exporter.
        """

        def forward(self, x):
            y = torch.sigmoid(x)
            for _ in range(40):
                y = 3.99 * y * (1.0 - y)
            return y

    path = os.path.join(out, "drifting.pt")
    torch.jit.script(Drifting()).save(path)
    wrote(path)

    class Unsupported(torch.nn.Module):
        def forward(self, x):
            return torch.linalg.eigvalsh(x)

    path = os.path.join(out, "unsupported.pt")
    torch.jit.script(Unsupported()).save(path)
    wrote(path)


def _import_torchvision():
    """The converter's own way to import torchvision with the CPU-only torch
    (see allow_torchvision_without_its_ops in converters/ferry_convert.py)."""
    import torch

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "converters"))
    from ferry_convert import allow_torchvision_without_its_ops

    allow_torchvision_without_its_ops(torch)


def make_tensorflow(out):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.keras.utils.set_random_seed(SEED)
    features = tf.keras.Input(shape=(16,), name="features", dtype=tf.float32)
    hidden = tf.keras.layers.Dense(32, activation="relu", name="hidden")(features)
    probabilities = tf.keras.layers.Dense(5, activation="softmax", name="probabilities")(hidden)
    model = tf.keras.Model(features, probabilities, name="keras_classifier")

    path = os.path.join(out, "keras_savedmodel")
    tf.saved_model.save(model, path)
    wrote(path + "/")
    sample = tf.random.stateless_normal((4, 16), seed=(SEED, 2)).numpy()
    write_check(out, "keras_savedmodel", [sample], [(model(sample).numpy(), "FP32")])
    path = os.path.join(out, "keras_model.keras")
    model.save(path)
    wrote(path)

    # A frozen graph: x:0 [None, 4] fp32 -> y:0 [None, 3] fp32.
    weights = tf.constant(tf.random.stateless_normal((4, 3), seed=(SEED, 1)))
    bias = tf.constant([0.1, -0.2, 0.3])

    @tf.function(input_signature=[tf.TensorSpec((None, 4), tf.float32, name="x")])
    def tiny(x):
        return tf.identity(tf.tanh(tf.matmul(x, weights) + bias), name="y")

    graph_def = tiny.get_concrete_function().graph.as_graph_def()
    path = os.path.join(out, "frozen.pb")
    with open(path, "wb") as f:
        f.write(graph_def.SerializeToString())
    wrote(path)


def make_sklearn(out):
    import joblib
    import lightgbm
    import numpy as np
    import xgboost
    from sklearn.datasets import make_classification, make_regression
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = make_classification(600, 10, n_informative=6, n_classes=3, random_state=SEED % 2**32)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    path = os.path.join(out, "pipeline.joblib")
    joblib.dump(pipeline, path)
    wrote(path)
    sample = x[:5].astype(np.float32)
    write_check(
        out, "pipeline", [sample],
        [(pipeline.predict(sample.astype(np.float64)), "INT64"), (pipeline.predict_proba(sample.astype(np.float64)), "FP32")])

    x, y = make_classification(800, 20, n_informative=10, n_classes=3, random_state=SEED % 2**32 + 1)
    xgb = xgboost.XGBClassifier(n_estimators=50, max_depth=4, random_state=0, n_jobs=1)
    xgb.fit(x.astype(np.float32), y)
    path = os.path.join(out, "xgb.joblib")
    joblib.dump(xgb, path)
    wrote(path)
    sample = x[:5].astype(np.float32)
    write_check(out, "xgb", [sample], [(xgb.predict(sample), "INT64"), (xgb.predict_proba(sample), "FP32")])

    x, y = make_regression(800, 12, n_informative=8, noise=0.1, random_state=SEED % 2**32 + 2)
    lgbm = lightgbm.LGBMRegressor(n_estimators=60, random_state=0, n_jobs=1, verbose=-1)
    lgbm.fit(x.astype(np.float32), y)
    path = os.path.join(out, "lgbm.joblib")
    joblib.dump(lgbm, path)
    wrote(path)
    sample = x[:5].astype(np.float32)
    write_check(out, "lgbm", [sample], [(lgbm.predict(sample), "FP32")])

    # What an upgrade breaks: the pickle names the scikit-learn version that
    # wrote it and a module path that no longer exists. Both edits keep every
    # string's length, so the uncompressed pickle stays well-formed.
    import io

    import sklearn

    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    old = buffer.getvalue()
    assert len(sklearn.__version__) == len("1.3.2"), sklearn.__version__
    edited = old.replace(sklearn.__version__.encode(), b"1.3.2").replace(b"sklearn.linear_model._logistic", b"sklearn.linear_model._logistiq")
    assert edited != old
    path = os.path.join(out, "old_sklearn.joblib")
    with open(path, "wb") as f:
        f.write(edited)
    wrote(path)


MAKERS = {"pytorch": make_pytorch, "tensorflow": make_tensorflow, "sklearn": make_sklearn}


def main(argv):
    if len(argv) != 3 or argv[1] not in MAKERS:
        sys.exit(f"usage: {argv[0]} {{{'|'.join(MAKERS)}}} OUTDIR")
    out = os.path.abspath(argv[2])
    os.makedirs(out, exist_ok=True)
    MAKERS[argv[1]](out)


if __name__ == "__main__":
    main(sys.argv)
