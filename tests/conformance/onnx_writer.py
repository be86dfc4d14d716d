"""A few ONNX models written directly as protobuf bytes, for tests that need
models of a chosen size (the memory budget) without the onnx package, which
the conformance environment does not install.

Only the fields these graphs use are encoded (onnx.proto field numbers)."""

from __future__ import annotations

import numpy as np

FLOAT = 1  # TensorProto.DataType.FLOAT


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | str | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint((number << 3) | 2) + _varint(len(data)) + data


def _value_info(name: str, dims: list[int | str]) -> bytes:
    shape = b"".join(_field(1, _field(2 if isinstance(d, str) else 1, d)) for d in dims)
    tensor_type = _field(1, FLOAT) + _field(2, shape)
    return _field(1, name) + _field(2, _field(1, tensor_type))


def _tensor(name: str, array: np.ndarray) -> bytes:
    dims = b"".join(_field(1, int(d)) for d in array.shape)
    return dims + _field(2, FLOAT) + _field(8, name) + _field(9, array.astype("<f4").tobytes())


def matmul_model(rows: int, columns: int, seed: int = 0) -> bytes:
    """y[n, columns] = x[n, rows] @ W: a model whose weight W (rows × columns
    float32) sets its size, and which cannot be folded away at load."""
    weight = np.random.default_rng(seed).standard_normal((rows, columns)).astype(np.float32) / rows
    node = _field(1, "x") + _field(1, "W") + _field(2, "y") + _field(3, "matmul") + _field(4, "MatMul")
    graph = (
        _field(1, node) + _field(2, "weighted") + _field(5, _tensor("W", weight))
        + _field(11, _value_info("x", ["n", rows])) + _field(12, _value_info("y", ["n", columns]))
    )
    opset = _field(1, "") + _field(2, 17)
    return _field(1, 8) + _field(8, opset) + _field(7, graph)
