"""Model names that are not plain ASCII words: tritonclient percent-encodes
them in HTTP paths, and gRPC carries them as they are; both must reach the model."""

from __future__ import annotations

import numpy as np

from conformance_support import SPACED_MODEL, TRANSPORTS, case, infer


def test_a_name_with_a_space_and_non_ascii_is_ready(client):
    assert client.is_model_ready(SPACED_MODEL) is True
    assert client.get_model_metadata(SPACED_MODEL) is not None


def test_a_name_with_a_space_and_non_ascii_answers_as_its_model(server):
    inputs = case("mlp", "batch1")["request"]["inputs"]
    for transport in TRANSPORTS:
        renamed = infer(server, transport, SPACED_MODEL, inputs, output_names=["output"])
        original = infer(server, transport, "mlp", inputs, output_names=["output"])
        np.testing.assert_array_equal(renamed.as_numpy("output"), original.as_numpy("output"))
