#!/usr/bin/env python3
"""Writes the benchmark models `make bench` serves: a ResNet-50-shaped CNN
(the torchvision layer layout, batch-norm folded into convolution biases as
an exported inference graph has it) with random weights.

Not committed (about 100 MB) and not trained: only its shape and arithmetic
matter for throughput. One repository, two models sharing the file:
  OUT/repository/resnet50_batched/    max_batch_size 32 with dynamic_batching
  OUT/repository/resnet50_unbatched/  max_batch_size 32, no dynamic_batching (one request per run)

  make-bench-models.py [--out .deps/bench-models]
"""
import argparse
import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MAX_BATCH = 32


class Graph:
    def __init__(self, seed=50):
        self.nodes, self.initializers = [], []
        self.rng = np.random.default_rng(seed)
        self.count = 0

    def name(self, prefix):
        self.count += 1
        return f"{prefix}_{self.count}"

    def conv(self, x, cin, cout, kernel, stride=1, relu=True, scale=1.0):
        # He initialisation keeps activations in range without batch norm;
        # `scale` damps residual branches so 16 additions do not blow up.
        weight = (self.rng.standard_normal((cout, cin, kernel, kernel), dtype=np.float32)
                  * np.float32(scale * np.sqrt(2.0 / (cin * kernel * kernel))))
        bias = (self.rng.standard_normal(cout, dtype=np.float32) * np.float32(0.01))
        w, b, y = self.name("w"), self.name("b"), self.name("conv")
        self.initializers += [numpy_helper.from_array(weight, w), numpy_helper.from_array(bias, b)]
        pad = kernel // 2
        self.nodes.append(helper.make_node("Conv", [x, w, b], [y], kernel_shape=[kernel, kernel],
                                           strides=[stride, stride], pads=[pad] * 4, name=y))
        return self.relu(y) if relu else y

    def relu(self, x):
        y = self.name("relu")
        self.nodes.append(helper.make_node("Relu", [x], [y], name=y))
        return y

    def bottleneck(self, x, cin, width, stride):
        cout = width * 4
        y = self.conv(x, cin, width, 1)
        y = self.conv(y, width, width, 3, stride)
        y = self.conv(y, width, cout, 1, relu=False, scale=0.2)
        shortcut = x if stride == 1 and cin == cout else self.conv(x, cin, cout, 1, stride, relu=False)
        s = self.name("add")
        self.nodes.append(helper.make_node("Add", [y, shortcut], [s], name=s))
        return self.relu(s), cout


def resnet50():
    g = Graph()
    x = g.conv("input", 3, 64, 7, 2)
    pooled = g.name("maxpool")
    g.nodes.append(helper.make_node("MaxPool", [x], [pooled], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4, name=pooled))
    x, channels = pooled, 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for block in range(blocks):
            x, channels = g.bottleneck(x, channels, width, stride if block == 0 else 1)
    gap = g.name("gap")
    g.nodes.append(helper.make_node("GlobalAveragePool", [x], [gap], name=gap))
    flat = g.name("flatten")
    g.nodes.append(helper.make_node("Flatten", [gap], [flat], axis=1, name=flat))
    fc_w = (g.rng.standard_normal((channels, 1000), dtype=np.float32) * np.float32(np.sqrt(1.0 / channels)))
    fc_b = np.zeros(1000, dtype=np.float32)
    g.initializers += [numpy_helper.from_array(fc_w, "fc_w"), numpy_helper.from_array(fc_b, "fc_b")]
    g.nodes.append(helper.make_node("Gemm", [flat, "fc_w", "fc_b"], ["logits"], name="fc"))
    graph = helper.make_graph(
        g.nodes, "resnet50",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000])],
        initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="ferry make-bench-models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


CONFIG = """name: "{name}"
max_batch_size: {max_batch}
input [{{ name: "input" data_type: TYPE_FP32 dims: [3, 224, 224] }}]
output [{{ name: "logits" data_type: TYPE_FP32 dims: [1000] }}]
{batching}"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".deps/bench-models")
    out = Path(parser.parse_args().out)
    model_file = out / "resnet50.onnx"
    if not model_file.exists():
        out.mkdir(parents=True, exist_ok=True)
        onnx.save(resnet50(), str(model_file) + ".tmp")
        os.replace(str(model_file) + ".tmp", model_file)
    for name, batching in (("resnet50_batched", "dynamic_batching { }\n"), ("resnet50_unbatched", "")):
        version = out / "repository" / name / "1"
        version.mkdir(parents=True, exist_ok=True)
        link = version / "model.onnx"
        if not link.exists():
            os.link(model_file, link)
        (out / "repository" / name / "config.pbtxt").write_text(CONFIG.format(name=name, max_batch=MAX_BATCH, batching=batching))
    params = sum(int(np.prod(t.dims)) for t in onnx.load(str(model_file), load_external_data=False).graph.initializer)
    print(f"{model_file}: ResNet-50 layout, {params / 1e6:.1f}M parameters, {model_file.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
