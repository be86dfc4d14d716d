"""Sends COUNT identical MLP requests (batch 1), one at a time, over one
protocol, with NVIDIA's tritonclient: the fixed load scripts/profile-serving
counts instructions for. Usage: profile-client.py grpc|http HOST:PORT COUNT"""

import os
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

protocol, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
module = grpcclient if protocol == "grpc" else httpclient
client = module.InferenceServerClient(url)
data = np.linspace(-1, 1, 64, dtype=np.float32).reshape(1, 64)
tensor = module.InferInput("input", [1, 64], "FP32")
if protocol == "grpc":
    tensor.set_data_from_numpy(data)
    outputs = [grpcclient.InferRequestedOutput("output")]
else:
    tensor.set_data_from_numpy(data, binary_data=True)
    outputs = [httpclient.InferRequestedOutput("output", binary_data=True)]
headers = {"authorization": f"Bearer {os.environ['FERRY_TOKEN']}"} if os.environ.get("FERRY_TOKEN") else None
for _ in range(count):
    client.infer("mlp", [tensor], outputs=outputs, headers=headers)
client.close()
