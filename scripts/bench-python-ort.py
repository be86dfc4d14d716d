#!/usr/bin/env python3
"""Baseline latency of Python onnxruntime `InferenceSession.run` on the MLP fixture.

Run with the project venv (see scripts/python-env):

    .deps/venv/bin/python scripts/bench-python-ort.py [--threads 1] [--iterations 20000]

Default SessionOptions except intra_op_num_threads (--threads), CPU execution
provider. For each batch size the input (random FP32) is prepared once, the
session is warmed up, then every call is timed individually with
time.perf_counter_ns. Prints one JSON object on stdout:

    {"runtime": "python-onnxruntime", "version": "1.31.1", "threads": 1,
     "results": [{"batch": 1, "iterations": 20000, "median_us": ..., "p99_us": ..., "mean_us": ...},
                 {"batch": 64, ...}]}
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO_ROOT / "Tests" / "Fixtures" / "models" / "mlp.onnx"


def percentile(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list."""
    n = len(sorted_ns)
    rank = max(1, int(np.ceil(q / 100.0 * n)))
    return float(sorted_ns[rank - 1])


def bench(sess: ort.InferenceSession, batch: int, warmup: int, iterations: int, seed: int) -> dict:
    inp = sess.get_inputs()[0]
    features = inp.shape[1]
    rng = np.random.default_rng(seed + batch)
    x = rng.standard_normal((batch, features)).astype(np.float32)
    feeds = {inp.name: x}
    out_names = [o.name for o in sess.get_outputs()]
    run = sess.run
    clock = time.perf_counter_ns

    for _ in range(warmup):
        run(out_names, feeds)

    samples = [0] * iterations
    for i in range(iterations):
        t0 = clock()
        run(out_names, feeds)
        samples[i] = clock() - t0

    samples.sort()
    n = len(samples)
    median = (samples[(n - 1) // 2] + samples[n // 2]) / 2.0
    return {
        "batch": batch,
        "iterations": iterations,
        "median_us": round(median / 1000.0, 3),
        "p99_us": round(percentile(samples, 99.0) / 1000.0, 3),
        "mean_us": round(sum(samples) / n / 1000.0, 3),
        "min_us": round(samples[0] / 1000.0, 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="intra_op_num_threads (default 1)")
    ap.add_argument("--iterations", type=int, default=20000, help="timed calls per batch size (default 20000)")
    ap.add_argument("--warmup", type=int, default=1000, help="untimed warm-up calls per batch size (default 1000)")
    ap.add_argument("--batches", type=str, default="1,64", help="comma-separated batch sizes (default 1,64)")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model path (default: the mlp fixture)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.iterations < 1 or args.warmup < 0 or args.threads < 0:
        ap.error("--iterations must be >= 1, --warmup and --threads >= 0")
    if not args.model.is_file():
        print(f"error: {args.model} not found; run scripts/make-test-models.py first", file=sys.stderr)
        return 1

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    sess = ort.InferenceSession(str(args.model), so, providers=["CPUExecutionProvider"])

    results = [bench(sess, int(b), args.warmup, args.iterations, args.seed)
               for b in args.batches.split(",") if b.strip()]
    print(json.dumps({
        "runtime": "python-onnxruntime",
        "version": ort.__version__,
        "threads": args.threads,
        "model": str(args.model.relative_to(REPO_ROOT)) if args.model.resolve().is_relative_to(REPO_ROOT)
        else str(args.model),
        "python": platform.python_version(),
        "results": results,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
