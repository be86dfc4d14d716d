"""The same JSON tensor work as Benchmarks/JSONTensorBenchmark, in Python:
orjson (the fastest JSON library Python servers use) with numpy, on the
request body the Swift benchmark wrote. Decoding: parse the body and turn the
input's `data` into a float32 array; encoding: write a response with a tensor
of the same size (orjson serializes numpy arrays natively). Prints JSON lines
like the Swift benchmark. Usage: bench-json-python.py REQUEST.json [ROUNDS] [ITERATIONS]
"""
import json
import sys
import time

import numpy as np
import orjson

body = open(sys.argv[1], "rb").read()
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 20


def best(work):
    fastest = float("inf")
    size = 0
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(iterations):
            size = work()
        fastest = min(fastest, (time.perf_counter() - started) / iterations)
    return size / fastest / 1e6, size


def decode():
    request = orjson.loads(body)
    tensor = request["inputs"][0]
    array = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    assert array.size == 3 * 224 * 224
    return len(body)


values = np.asarray(orjson.loads(body)["inputs"][0]["data"], dtype=np.float32).reshape(1, 3, 224, 224)


def encode():
    return len(orjson.dumps({"model_name": "resnet50", "model_version": "1", "outputs": [
        {"name": "input", "datatype": "FP32", "shape": [1, 3, 224, 224], "data": values.ravel()}]},
        option=orjson.OPT_SERIALIZE_NUMPY))


for name, (rate, size) in (("decode request", best(decode)), ("encode response", best(encode))):
    print(json.dumps({"path": name, "json_bytes": size, "megabytes_per_second": round(rate, 1)}))
