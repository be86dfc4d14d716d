"""GPU models on a machine without a GPU, as a Triton user meets them: a
model whose config.pbtxt asks for KIND_GPU is UNAVAILABLE with the reason
while the others serve, and each reason is its own sentence: no driver, no
device N, a CPU build of ONNX Runtime, a GPU build without its provider
libraries, a provider library that does not load. KIND_AUTO falls back to the
CPU. No GPU metrics appear without NVML, and with it each figure appears
under Triton's name with Ferry's prefix.

This machine has no NVIDIA driver. For the reasons that come after the
driver, `fixtures/stand_in_cuda_driver.c` is compiled into a libcuda.so.1
that reports devices and nothing more; ferry finds it through
LD_LIBRARY_PATH, as it would find the real one; `fixtures/stand_in_nvml.c`
does the same for libnvidia-ml.so.1 with fixed figures. The GPU build of ONNX Runtime
is the one `scripts/install-onnxruntime --gpu` installs (make test does)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from conformance_support import (
    FIXTURES, REPO_ROOT, add_model, ferry_bin, ferry_missing_reason, start_server, stop_server,
)

pytestmark = pytest.mark.skipif(ferry_missing_reason() is not None, reason=ferry_missing_reason() or "")

GPU_BUILD = REPO_ROOT / ".deps" / "onnxruntime-gpu" / "lib"
needs_gpu_build = pytest.mark.skipif(
    not (GPU_BUILD / "libonnxruntime.so.1.31.1").is_file(), reason="scripts/install-onnxruntime --gpu not run"
)

CONFIGS = {
    "gpu": 'instance_group [{ kind: KIND_GPU, count: 2, gpus: [0] }]',
    "gpu3": 'instance_group [{ kind: KIND_GPU, gpus: [3] }]',
    "tensorrt": """instance_group [{ kind: KIND_GPU }]
optimization { execution_accelerators { gpu_execution_accelerator: [
  { name: "tensorrt", parameters { key: "precision_mode" value: "FP16" } } ] } }""",
    "auto": "instance_group [{ count: 2 }]",
    "cpu": "instance_group [{ kind: KIND_CPU }]",
}


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("gpu-repo")
    for name, config in CONFIGS.items():
        add_model(repo, name, FIXTURES / "mlp.onnx")
        (repo / name / "config.pbtxt").write_text(config + "\n")
    return repo


def compile_library(directory: Path, name: str, source: str) -> None:
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    assert compiler, "a C compiler is needed to build the stand-in driver libraries"
    path = Path(__file__).parent / "fixtures" / source
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(directory / name), str(path)], check=True)


@pytest.fixture(scope="module")
def stand_in_driver(tmp_path_factory) -> Path:
    """A directory holding the stand-in libcuda.so.1."""
    directory = tmp_path_factory.mktemp("driver")
    compile_library(directory, "libcuda.so.1", "stand_in_cuda_driver.c")
    return directory


def index(server) -> dict[str, dict]:
    response = requests.post(server.http_base() + "/v2/repository/index", timeout=10)
    response.raise_for_status()
    return {entry["name"]: entry for entry in response.json()}


def infer_mlp(server, model: str) -> list[float]:
    body = {"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}]}
    response = requests.post(server.http_base() + f"/v2/models/{model}/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["outputs"][0]["data"]


def serve(repository, tmp_path, args=(), env=None):
    return start_server(repository, tmp_path / "server.log", ["--log-format", "json", *args], ["cpu", "auto"], env=env)


def test_without_a_driver_gpu_models_are_unavailable_and_the_rest_serve(repository, tmp_path):
    server = serve(repository, tmp_path)
    try:
        models = index(server)
        for name, asked in [("gpu", "GPU 0"), ("gpu3", "GPU 3"), ("tensorrt", "a GPU")]:
            assert models[name]["state"] == "UNAVAILABLE"
            assert models[name]["reason"].startswith(f"model '{name}' asks for {asked}, but this machine has no NVIDIA driver: "
                                                     "libcuda.so.1 cannot be loaded"), models[name]
        expected = infer_mlp(server, "cpu")
        assert infer_mlp(server, "auto") == expected
        # An inference on a GPU model is refused with the reason, as Triton's "not ready".
        response = requests.post(server.http_base() + "/v2/models/gpu/infer",
                                 json={"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 64}]},
                                 timeout=10)
        assert response.status_code in (400, 503), response.text
        assert "no NVIDIA driver" in response.json()["error"]
        config = requests.get(server.http_base() + "/v2/models/auto/config", timeout=10).json()
        assert [(g["kind"], g["count"]) for g in config["instance_group"]] == [("KIND_CPU", 2)]
        assert "KIND_AUTO instances run on the CPU" in server.log_tail(200_000)
        # Without NVML there are no GPU metrics, and the endpoint works.
        metrics = requests.get(f"http://{server.metrics_url}/metrics", timeout=10)
        assert metrics.status_code == 200 and "ferry_nv_gpu" not in metrics.text
    finally:
        stop_server(server)


def test_with_a_driver_the_device_number_and_the_cpu_build_are_the_reasons(repository, tmp_path, stand_in_driver):
    server = serve(repository, tmp_path, env={"LD_LIBRARY_PATH": str(stand_in_driver)})
    try:
        models = index(server)
        assert models["gpu3"]["reason"] == (
            "model 'gpu3' asks for GPU 3, but this machine has no device 3: the driver sees 1 (0: Stand-in GPU 0)")
        reason = models["gpu"]["reason"]
        assert reason.startswith("model 'gpu' asks for GPU 0, but ONNX Runtime 1.31.1 at "), reason
        assert "is a CPU build: its CUDA provider library (libonnxruntime_providers_cuda.so) is missing; " \
               "install the GPU build with `scripts/install-onnxruntime --gpu`" in reason
        infer_mlp(server, "cpu")
    finally:
        stop_server(server)


def test_a_driver_without_devices_is_its_own_reason(repository, tmp_path, stand_in_driver):
    server = serve(repository, tmp_path, env={"LD_LIBRARY_PATH": str(stand_in_driver), "FERRY_STAND_IN_CUDA_DEVICES": "0"})
    try:
        reason = index(server)["gpu"]["reason"]
        assert reason == ("model 'gpu' asks for GPU 0, but the NVIDIA driver finds no CUDA device (cuInit: "
                          "CUDA_ERROR_NO_DEVICE (100)); check CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES"), reason
    finally:
        stop_server(server)


@needs_gpu_build
def test_a_gpu_build_without_its_provider_libraries(repository, tmp_path, stand_in_driver):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(GPU_BUILD / "libonnxruntime.so.1.31.1", alone)
    server = serve(repository, tmp_path, ["--onnxruntime-lib", str(alone / "libonnxruntime.so.1.31.1")],
                   env={"LD_LIBRARY_PATH": str(stand_in_driver)})
    try:
        reason = index(server)["gpu"]["reason"]
        assert reason.startswith(f"model 'gpu' asks for GPU 0, but the provider library "
                                 f"libonnxruntime_providers_shared.so is missing from {alone}"), reason
        infer_mlp(server, "cpu")
    finally:
        stop_server(server)


@needs_gpu_build
def test_a_provider_library_that_does_not_load_names_what_it_lacks(repository, tmp_path, stand_in_driver):
    # The stand-in driver lacks the driver functions the CUDA provider links
    # to; TensorRT's libraries are not installed at all. KIND_AUTO then
    # falls back to the CPU, while KIND_GPU stays UNAVAILABLE.
    server = serve(repository, tmp_path, ["--onnxruntime-lib", str(GPU_BUILD / "libonnxruntime.so")],
                   env={"LD_LIBRARY_PATH": str(stand_in_driver)})
    try:
        models = index(server)
        reason = models["gpu"]["reason"]
        assert "ONNX Runtime FAIL: the CUDA provider library cannot be loaded: " in reason, reason
        assert "libonnxruntime_providers_cuda.so" in reason and "undefined symbol: cu" in reason, reason
        trt = models["tensorrt"]["reason"]
        assert "the TensorRT provider library cannot be loaded: " in trt and "libnvinfer.so.10" in trt, trt
        assert infer_mlp(server, "auto") == infer_mlp(server, "cpu")
        log = server.log_tail(200_000)
        assert "KIND_AUTO instances run on the CPU" in log and "undefined symbol" in log
    finally:
        stop_server(server)


def test_nvml_figures_are_exported_as_ferry_nv_gpu_metrics(repository, tmp_path):
    nvml = tmp_path / "nvml"
    nvml.mkdir()
    compile_library(nvml, "libnvidia-ml.so.1", "stand_in_nvml.c")
    server = serve(repository, tmp_path, env={"LD_LIBRARY_PATH": str(nvml)})
    try:
        text = requests.get(f"http://{server.metrics_url}/metrics", timeout=10).text
        values = {}
        for line in text.splitlines():
            if line.startswith("ferry_nv_"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        label = '{gpu_uuid="GPU-stand-in-0"}'
        assert values == {
            f"ferry_nv_gpu_utilization{label}": 0.37,
            f"ferry_nv_gpu_memory_total_bytes{label}": float(16 << 30),
            f"ferry_nv_gpu_memory_used_bytes{label}": float(1 << 30),
            f"ferry_nv_gpu_power_usage{label}": 70.5,
            f"ferry_nv_gpu_power_limit{label}": 300.0,
        }, text
        assert "# HELP ferry_nv_gpu_utilization GPU utilization rate" in text
    finally:
        stop_server(server)


def test_device_flag_is_checked(tmp_path):
    result = subprocess.run([str(ferry_bin()), "serve", str(tmp_path), "--device", "tpu"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--device must be cpu, auto, cuda or cuda:N, not 'tpu'" in result.stderr
