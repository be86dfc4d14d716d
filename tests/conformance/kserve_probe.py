"""Runs KServe's own Python clients against a server and prints what they saw.

Run by test_kserve_clients.py with .deps/venv-kserve's interpreter (kserve's
pins conflict with tritonclient's, so it cannot live in the suite's venv):

    python kserve_probe.py SPEC_JSON

SPEC_JSON names the server and one request:
    {"rest": "http://127.0.0.1:PORT", "grpc": "127.0.0.1:PORT",
     "model": NAME, "missing_model": NAME, "inputs": [{name, datatype, shape, data}]}

Prints one JSON object: for each of "rest-json", "rest-binary" and "grpc",
the health answers, the missing model's readiness, and the outputs of the
inference as {name, datatype, shape, data}. A client exception is reported
as {"error": "<type>: <message>"} in place of the value, so the test shows it.
"""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig

DTYPES = {"FP32": np.float32, "FP64": np.float64, "INT32": np.int32, "INT64": np.int64}


def request_of(spec: dict, binary: bool) -> InferRequest:
    inputs = []
    for tensor in spec["inputs"]:
        value = np.array(tensor["data"], dtype=DTYPES[tensor["datatype"]]).reshape(tensor["shape"])
        infer_input = InferInput(tensor["name"], list(value.shape), tensor["datatype"])
        infer_input.set_data_from_numpy(value, binary_data=binary)
        inputs.append(infer_input)
    return InferRequest(model_name=spec["model"], infer_inputs=inputs, request_id="kserve-probe")


def outputs_of(response) -> list[dict]:
    return [
        {"name": o.name, "datatype": o.datatype, "shape": list(o.shape), "data": o.as_numpy().flatten().tolist()}
        for o in response.outputs
    ]


async def attempt(call):
    try:
        return await call
    except Exception as error:  # the test prints whatever the client raised
        return {"error": f"{type(error).__name__}: {error}"}


async def probe_rest(spec: dict, binary: bool) -> dict:
    client = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=30))
    base = spec["rest"]
    try:
        return {
            "server_live": await attempt(client.is_server_live(base)),
            "server_ready": await attempt(client.is_server_ready(base)),
            "model_ready": await attempt(client.is_model_ready(base, spec["model"])),
            "missing_model_ready": await attempt(client.is_model_ready(base, spec["missing_model"])),
            "outputs": await attempt(_rest_infer(client, base, spec, binary)),
        }
    finally:
        await client.close()


async def _rest_infer(client, base, spec, binary):
    return outputs_of(await client.infer(base, request_of(spec, binary), model_name=spec["model"]))


async def probe_grpc(spec: dict) -> dict:
    client = InferenceGRPCClient(spec["grpc"], retries=2, timeout=30)
    try:
        return {
            "server_live": await attempt(client.is_server_live()),
            "server_ready": await attempt(client.is_server_ready()),
            "model_ready": await attempt(client.is_model_ready(spec["model"])),
            "missing_model_ready": await attempt(client.is_model_ready(spec["missing_model"])),
            "outputs": await attempt(_grpc_infer(client, spec)),
        }
    finally:
        await client.close()


async def _grpc_infer(client, spec):
    return outputs_of(await client.infer(request_of(spec, binary=True)))


async def main(spec: dict) -> dict:
    return {
        "rest-json": await probe_rest(spec, binary=False),
        "rest-binary": await probe_rest(spec, binary=True),
        "grpc": await probe_grpc(spec),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
