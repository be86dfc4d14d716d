"""NVIDIA perf_analyzer (2.51.0, from the tritonclient wheel) against the
server, over HTTP and gRPC.

perf_analyzer reads model metadata, the model config (required), server
metadata and, since the server lists the `statistics` extension, the
statistics endpoint around each measurement window; then it sends binary
inference requests. Set it up with scripts/perf-analyzer-env, which writes
the wrapper <repo>/.deps/bin/perf_analyzer (PERF_ANALYZER overrides the path).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conformance_support import REPO_ROOT

PA_TIMEOUT_S = 180


def perf_analyzer_path() -> Path:
    configured = os.environ.get("PERF_ANALYZER")
    return Path(configured) if configured else REPO_ROOT / ".deps" / "bin" / "perf_analyzer"


@pytest.fixture(scope="session")
def perf_analyzer() -> Path:
    path = perf_analyzer_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"perf_analyzer not found at {path}: run scripts/perf-analyzer-env (or set PERF_ANALYZER)")
    try:
        probe = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"perf_analyzer at {path} cannot run: {error}; re-run scripts/perf-analyzer-env")
    output = probe.stdout + probe.stderr
    if probe.returncode != 0 or "Perf Analyzer Version" not in output:
        pytest.skip(
            f"perf_analyzer at {path} cannot run (exit {probe.returncode}): {output.strip()[:500]}; "
            "re-run scripts/perf-analyzer-env"
        )
    return path


def mlp_batching_args(server) -> list[str]:
    """Batch/shape flags for mlp, from its config as the server reports it.

    max_batch_size > 0: the first dimension is the batch; `-b` sets it and
    dims ([64]) are fixed. max_batch_size == 0: no batching, the whole shape
    is given and -1 dims must be fixed with --shape."""
    client = server.client("http")
    try:
        max_batch_size = int(client.get_model_config("mlp").get("max_batch_size", 0))
    finally:
        client.close()
    if max_batch_size > 0:
        return ["-b", "1", "--shape", "input:64"]
    return ["--shape", "input:1,64"]


def run_perf_analyzer(perf_analyzer: Path, server, protocol: str) -> subprocess.CompletedProcess:
    url = server.http_url if protocol == "http" else server.grpc_url
    args = [
        str(perf_analyzer),
        "-m", "mlp",
        "-u", url,
        "-i", protocol,
        *mlp_batching_args(server),
        "--measurement-interval", "1000",
        "--concurrency-range", "1:2",
        # This is a protocol check, not a benchmark: any 3 windows count as
        # stable, so a noisy machine cannot fail the run ("Failed to obtain
        # stable measurement" exits non-zero).
        "--stability-percentage", "999",
        "--max-trials", "10",
    ]
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=PA_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        pytest.fail(
            f"perf_analyzer did not finish within {PA_TIMEOUT_S} s: {' '.join(args)}\n"
            f"{(error.stdout or b'')[-3000:]!r}\n--- server log ---\n{server.log_tail()}"
        )


@pytest.mark.perf
@pytest.mark.slow
@pytest.mark.parametrize("pa_protocol", ["http", "grpc"])
def test_perf_analyzer_measures_mlp(perf_analyzer, server, pa_protocol):
    run = run_perf_analyzer(perf_analyzer, server, pa_protocol)
    output = run.stdout + run.stderr
    assert run.returncode == 0, (
        f"perf_analyzer exited {run.returncode} over {pa_protocol}:\n{output[-4000:]}\n"
        f"--- server log ---\n{server.log_tail(3000)}"
    )
    assert "Throughput" in output, output[-4000:]
    assert "Concurrency: 2" in output, output[-4000:]
