"""Saves torchvision's ResNet-18 (random weights, nothing downloaded) as a
TorchScript file: the starting point of the README's walk from a PyTorch
model to a deployment.

    PY=$(ferry convert --prepare pytorch)   # the pinned PyTorch environment
    $PY examples/convert/save_resnet18.py resnet18.pt resnet18-request.json

The second file is a KServe v2 inference request with one random image,
for the input that `ferry convert --input image:1,3,224,224` names.
"""

import glob
import importlib.util
import json
import os
import sys

import torch

# The pinned environment has PyTorch's CPU-only build, and PyPI's torchvision
# is built for CUDA: its compiled ops cannot load, and `import torchvision`
# fails while registering torchvision::nms. Declaring the two schemas it
# registers first lets torchvision import; its models are plain PyTorch and
# need none of its compiled ops. (With a CUDA PyTorch none of this is needed.)
_schemas = None
_spec = importlib.util.find_spec("torchvision")
try:
    torch.ops.load_library(glob.glob(os.path.join(_spec.submodule_search_locations[0], "_C*.so"))[0])
except (OSError, IndexError):
    _schemas = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        _schemas.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
import torchvision  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else "resnet18.pt"
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None).eval()
image = torch.rand(1, 3, 224, 224)
torch.jit.trace(model, image).save(path)
print(f"wrote {path}")
if len(sys.argv) > 2:
    request = {"inputs": [{"name": "image", "shape": [1, 3, 224, 224], "datatype": "FP32", "data": image.flatten().tolist()}]}
    with open(sys.argv[2], "w") as f:
        json.dump(request, f)
    print(f"wrote {sys.argv[2]}")
