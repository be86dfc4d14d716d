"""/openapi.json against the live server: schemathesis generates requests for
every operation from the document (valid ones and edge cases) and checks that
no answer is a server error and that every answer's status, content type and
body match what the document says. /metrics (another port) is left out.

The seed is random per run and printed on failure; SCHEMATHESIS_SEED replays one.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import requests

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def test_document_describes_the_served_api(docs_server):
    document = requests.get(f"{docs_server.http_base()}/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    for path in ["/v2/models/{model}/infer", "/v1/models/{model}:predict", "/v2/jobs/{id}", "/", "/metrics"]:
        assert path in paths, path


def test_schemathesis_finds_no_fault(docs_server, tmp_path):
    seed = os.environ.get("SCHEMATHESIS_SEED") or str(random.SystemRandom().randrange(1 << 63))
    schemathesis = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [
            str(schemathesis), "run", f"{docs_server.http_base()}/openapi.json",
            "--url", docs_server.http_base(),
            "--checks", CHECKS,
            "--exclude-path", "/metrics",
            "--max-examples", "40",
            "--seed", seed,
            "--no-color",
        ],
        capture_output=True, text=True, timeout=280, cwd=tmp_path,
    )
    assert run.returncode == 0, f"schemathesis (seed {seed}) found faults:\n{run.stdout[-8000:]}\n{run.stderr[-2000:]}"
    assert "0 failures" in run.stdout or "passed" in run.stdout, run.stdout[-3000:]
