"""Models as OCI artifacts: `ferry push-model` to a real `docker-registry`
(distribution, on loopback), `ferry serve oci://…` pulling into a
content-addressed cache, the cache reused across restarts (the registry's own
access log shows which blobs were fetched), and artifacts that must be
refused: a tampered blob, a manifest that is not a model, a file path that
leaves the model directory."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from conformance_support import (
    EXAMPLES,
    FIXTURES,
    add_model,
    assert_response_matches,
    case,
    ferry_bin,
    ferry_missing_reason,
    free_ports,
    infer,
    start_server,
    stop_server,
    wait_for,
)

pytestmark = pytest.mark.slow


class Registry:
    """`docker-registry serve` with storage in a temporary folder, logging every request."""

    def __init__(self, root: Path):
        if shutil.which("docker-registry") is None:
            pytest.skip("docker-registry is not installed (scripts/install-system-packages --tests)")
        self.storage = root / "storage"
        self.log_path = root / "registry.log"
        (port,) = free_ports(1)
        self.address = f"127.0.0.1:{port}"
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n"
            f"    rootdirectory: {self.storage}\n  delete:\n    enabled: true\nhttp:\n  addr: {self.address}\n"
        )
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        assert wait_for(lambda: answers(f"http://{self.address}/v2/"), timeout_s=30, interval_s=0.05), (
            f"docker-registry did not start:\n{self.log_path.read_text()}")

    def requests_for(self, repository: str) -> list[str]:
        """`METHOD PATH` of every request the registry logged for `repository`."""
        text = self.log_path.read_text(errors="replace")
        return re.findall(rf'"((?:GET|HEAD|PUT|POST|PATCH) /v2/{re.escape(repository)}/[^ ]*) HTTP', text)

    def blob_gets(self, repository: str) -> list[str]:
        return [r for r in self.requests_for(repository) if r.startswith(f"GET /v2/{repository}/blobs/")]

    def blob_file(self, digest: str) -> Path:
        hex_digest = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest / "data"

    def manifest(self, repository: str, reference: str) -> dict:
        response = requests.get(
            f"http://{self.address}/v2/{repository}/manifests/{reference}",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        opened = requests.post(f"http://{self.address}/v2/{repository}/blobs/uploads/", timeout=10)
        assert opened.status_code == 202, opened.text
        location = opened.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.address}{location}"
        separator = "&" if "?" in location else "?"
        done = requests.put(f"{location}{separator}digest={digest}", data=data,
                            headers={"Content-Type": "application/octet-stream"}, timeout=10)
        assert done.status_code == 201, done.text
        return digest

    def push_manifest(self, repository: str, tag: str, manifest: dict) -> None:
        response = requests.put(
            f"http://{self.address}/v2/{repository}/manifests/{tag}", data=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, timeout=10)
        assert response.status_code == 201, response.text

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    reason = ferry_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    running = Registry(tmp_path_factory.mktemp("registry"))
    yield running
    running.stop()


def answers(url: str) -> bool:
    """Whether GET `url` is 200 now (a server that is not listening yet is not)."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def ferry(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ferry_bin()), *args], capture_output=True, text=True, timeout=120)


def push_model(model_dir: Path, destination: str, *extra: str) -> str:
    """Pushes with `ferry push-model`; returns the oci:// reference pinned by digest it prints."""
    pushed = ferry("push-model", str(model_dir), destination, *extra)
    assert pushed.returncode == 0, pushed.stderr
    reference = pushed.stdout.strip().splitlines()[-1]
    assert reference.startswith("oci://") and "@sha256:" in reference, pushed.stdout
    return reference


def mlp_directory(root: Path, name: str = "mlp") -> Path:
    repo = root / "repo"
    add_model(repo, name, FIXTURES / "mlp.onnx")
    (repo / name / "config.pbtxt").write_text(f'name: "{name}"\nmax_batch_size: 8\n')
    return repo / name


def assert_mlp_answers(server, name: str = "mlp") -> None:
    expected = case("mlp", "batch1")
    result = infer(server, "http-binary", name, expected["request"]["inputs"])
    assert_response_matches("mlp", result, expected["response"])


def repository_index(server) -> dict[str, dict]:
    response = requests.post(f"{server.http_base()}/v2/repository/index", json={}, timeout=10)
    assert response.status_code == 200, response.text
    return {entry["name"]: entry for entry in response.json()}


def test_push_model_writes_a_modelpack_artifact_with_a_layer_per_file(registry, tmp_path):
    model = tmp_path / "repo" / "digits"
    shutil.copytree(EXAMPLES / "models" / "digits", model)
    (model / "2").mkdir()
    shutil.copy(model / "1" / "model.onnx", model / "2" / "model.onnx")
    (model / "2" / "report.json").write_text('{"checks": "passed"}')
    (model / "warmup").mkdir()
    (model / "warmup" / "sample.bin").write_bytes(bytes(8))
    (model / ".DS_Store").write_bytes(b"junk")

    reference = push_model(model, f"{registry.address}/ferry/digits:v2", "--version", "2")
    manifest = registry.manifest("ferry/digits", "v2")
    assert reference.endswith("@sha256:" + hashlib.sha256(
        requests.get(f"http://{registry.address}/v2/ferry/digits/manifests/v2",
                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).content).hexdigest())
    assert manifest["artifactType"] == "application/vnd.cncf.model.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.cncf.model.config.v1+json"
    assert manifest["annotations"]["org.cncf.model.name"] == "digits"
    layers = {layer["annotations"]["org.cncf.model.filepath"]: layer["mediaType"] for layer in manifest["layers"]}
    # --version 2 leaves version 1 out; hidden files stay home.
    assert layers == {
        "2/model.onnx": "application/vnd.cncf.model.weight.v1.raw",
        "2/report.json": "application/vnd.cncf.model.doc.v1.raw",
        "config.pbtxt": "application/vnd.cncf.model.weight.config.v1.raw",
        "warmup/sample.bin": "application/vnd.cncf.model.dataset.v1.raw",
    }
    for layer in manifest["layers"]:
        path = model / layer["annotations"]["org.cncf.model.filepath"]
        assert layer["digest"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        assert layer["size"] == path.stat().st_size
    config = requests.get(f"http://{registry.address}/v2/ferry/digits/blobs/{manifest['config']['digest']}").json()
    assert config["descriptor"] == {"name": "digits", "version": "2"}
    assert config["modelfs"]["diffIds"] == [layer["digest"] for layer in manifest["layers"]]

    missing = ferry("push-model", str(model), f"{registry.address}/ferry/digits:v9", "--version", "9")
    assert missing.returncode != 0 and "no version 9" in missing.stderr


def test_a_pushed_model_serves_from_the_registry_and_a_restart_fetches_no_blob(registry, tmp_path):
    reference = push_model(mlp_directory(tmp_path), f"{registry.address}/ferry/mlp:v1")
    cache = tmp_path / "cache"
    by_tag = f"oci://{registry.address}/ferry/mlp:v1"

    server = start_server(by_tag, tmp_path / "first.log", ["--model-cache", str(cache)], ["mlp"])
    try:
        assert_mlp_answers(server)
    finally:
        assert stop_server(server) == 0
    fetched = registry.blob_gets("ferry/mlp")
    manifest = registry.manifest("ferry/mlp", "v1")
    assert sorted(f"GET /v2/ferry/mlp/blobs/{layer['digest']}" for layer in manifest["layers"]) == sorted(fetched)
    for layer in manifest["layers"]:
        stored = cache / "blobs" / "sha256" / layer["digest"].removeprefix("sha256:")
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == layer["digest"].removeprefix("sha256:")

    # By tag: the registry is asked what the tag names now, and no blob is fetched.
    before = len(registry.requests_for("ferry/mlp"))
    server = start_server(by_tag, tmp_path / "second.log", ["--model-cache", str(cache)], ["mlp"])
    try:
        assert_mlp_answers(server)
    finally:
        assert stop_server(server) == 0
    after = registry.requests_for("ferry/mlp")[before:]
    assert after and all("/manifests/v1" in r for r in after), after
    assert registry.blob_gets("ferry/mlp") == fetched

    # By digest (and from a models.yaml beside a local repository): nothing reaches the registry.
    local = tmp_path / "local"
    add_model(local, "identity_fp32", FIXTURES / "identity_fp32.onnx")
    listing = tmp_path / "models.yaml"
    listing.write_text(f"models:\n  - {reference}\n  - local\n")
    before = len(registry.requests_for("ferry/mlp"))
    server = start_server(listing, tmp_path / "third.log", ["--model-cache", str(cache)], ["mlp", "identity_fp32"])
    try:
        assert_mlp_answers(server)
        assert set(repository_index(server)) == {"mlp", "identity_fp32"}
    finally:
        assert stop_server(server) == 0
    assert registry.requests_for("ferry/mlp")[before:] == []


def test_a_tampered_blob_is_refused_with_its_digest_and_the_other_models_serve(registry, tmp_path):
    model = tmp_path / "repo" / "tampered"
    add_model(tmp_path / "repo", "tampered", FIXTURES / "identity_int16.onnx")
    push_model(model, f"{registry.address}/ferry/tampered:v1")
    weights = next(layer for layer in registry.manifest("ferry/tampered", "v1")["layers"]
                   if layer["annotations"]["org.cncf.model.filepath"] == "1/model.onnx")
    blob = registry.blob_file(weights["digest"])
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed
    blob.write_bytes(bytes(data))

    local = tmp_path / "local"
    add_model(local, "mlp", FIXTURES / "mlp.onnx")
    cache = tmp_path / "cache"
    server = start_server(
        local, tmp_path / "ferry.log",
        [f"oci://{registry.address}/ferry/tampered:v1", "--model-cache", str(cache)], ["mlp"])
    try:
        assert_mlp_answers(server)
        entry = repository_index(server)["tampered"]
        assert entry["state"] == "UNAVAILABLE"
        assert weights["digest"] in entry["reason"], entry
        response = requests.post(f"{server.http_base()}/v2/models/tampered/infer", json={"inputs": []}, timeout=10)
        assert response.status_code == 503 and weights["digest"] in response.json()["error"], response.text
        # Strict readiness: a model that was asked for and is not there.
        assert requests.get(f"{server.http_base()}/v2/health/ready", timeout=10).status_code == 400
    finally:
        assert stop_server(server) == 0
    assert registry.blob_gets("ferry/tampered"), "the tampered blob was never fetched"
    # Nothing of the refused download is kept, and no model directory was made.
    assert not (cache / "blobs" / "sha256" / weights["digest"].removeprefix("sha256:")).exists()
    assert [p.name for p in (cache / "blobs" / "sha256").iterdir() if p.name.startswith(".tmp")] == []
    assert list((cache / "models").iterdir()) == []


def artifact_manifest(registry: Registry, repository: str, files: dict[str, bytes], artifact_type: str | None,
                      config_type: str = "application/vnd.cncf.model.config.v1+json") -> dict:
    config = b"{}"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_type, "digest": registry.push_blob(repository, config), "size": len(config)},
        "layers": [
            {"mediaType": "application/vnd.cncf.model.weight.v1.raw", "digest": registry.push_blob(repository, data),
             "size": len(data), "annotations": {"org.cncf.model.filepath": path}}
            for path, data in files.items()
        ],
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    return manifest


@pytest.mark.parametrize(
    "case_name, files, artifact_type, config_type, expected",
    [
        ("image", {"1/model.onnx": b"x"}, None, "application/vnd.oci.image.config.v1+json", "is not a model artifact"),
        ("escape", {"../../etc/evil": b"x"}, "application/vnd.cncf.model.manifest.v1+json",
         "application/vnd.cncf.model.config.v1+json", "leaves the model directory"),
        ("absolute", {"/etc/evil": b"x"}, "application/vnd.cncf.model.manifest.v1+json",
         "application/vnd.cncf.model.config.v1+json", "leaves the model directory"),
    ],
)
def test_artifacts_that_are_not_models_or_leave_their_directory_are_refused(
        registry, tmp_path, case_name, files, artifact_type, config_type, expected):
    repository = f"ferry/hostile{case_name}"
    registry.push_manifest(repository, "v1", artifact_manifest(registry, repository, files, artifact_type, config_type))
    local = tmp_path / "local"
    add_model(local, "mlp", FIXTURES / "mlp.onnx")
    server = start_server(local, tmp_path / "ferry.log",
                          [f"oci://{registry.address}/{repository}:v1", "--model-cache", str(tmp_path / "cache")], ["mlp"])
    try:
        entry = repository_index(server)[f"hostile{case_name}"]
        assert entry["state"] == "UNAVAILABLE" and expected in entry["reason"], entry
        assert_mlp_answers(server)
    finally:
        assert stop_server(server) == 0
    assert not (tmp_path / "etc").exists()


def test_the_command_line_ferry_deploy_writes_for_artifacts_serves_them(registry, tmp_path):
    """`ferry deploy --model oci://…` replaces the image's entrypoint; that
    command line, run as written (cache and ports moved to this machine),
    pulls the artifact and serves it."""
    push_model(mlp_directory(tmp_path, "deployed"), f"{registry.address}/ferry/deployed:v1")
    written = ferry("deploy", "registry.example.com/team/ferry:v1", "--target", "kubernetes",
                    "--model", f"oci://{registry.address}/ferry/deployed:v1", "--output", "-")
    assert written.returncode == 0, written.stderr
    deployment = next(d for d in yaml.safe_load_all(written.stdout) if d and d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    command = container["command"] + container["args"]
    assert command[:2] == ["/usr/local/bin/ferry", "serve"]
    http, grpc, metrics = free_ports(3)
    replacements = {"--model-cache": str(tmp_path / "cache"), "--host": "127.0.0.1", "--http-port": str(http),
                    "--grpc-port": str(grpc), "--metrics-port": str(metrics)}
    arguments = command[1:]
    for option, value in replacements.items():
        arguments[arguments.index(option) + 1] = value
    log = open(tmp_path / "ferry.log", "wb")
    process = subprocess.Popen([str(ferry_bin()), *arguments], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        ready = f"http://127.0.0.1:{http}/v2/models/deployed/ready"
        assert wait_for(lambda: process.poll() is not None or answers(ready), timeout_s=60), (tmp_path / "ferry.log").read_text()
        assert process.poll() is None, (tmp_path / "ferry.log").read_text()
        body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": [0.5] * 64}]}
        response = requests.post(f"http://127.0.0.1:{http}/v2/models/deployed/infer", json=body, timeout=10)
        assert response.status_code == 200 and response.json()["outputs"][0]["shape"] == [1, 16]
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_a_tag_is_served_as_last_pulled_when_the_registry_is_down(tmp_path):
    reason = ferry_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    (tmp_path / "own-registry").mkdir()
    own = Registry(tmp_path / "own-registry")
    try:
        push_model(mlp_directory(tmp_path), f"{own.address}/ferry/mlp:v1")
        cache = tmp_path / "cache"
        source = f"oci://{own.address}/ferry/mlp:v1"
        server = start_server(source, tmp_path / "first.log", ["--model-cache", str(cache)], ["mlp"])
        assert stop_server(server) == 0
    finally:
        own.stop()
    server = start_server(source, tmp_path / "second.log", ["--model-cache", str(cache)], ["mlp"])
    try:
        assert_mlp_answers(server)
        assert "registry unreachable" in server.log_path.read_text()
    finally:
        assert stop_server(server) == 0
    # Not for a tag never pulled: that model is unavailable, with the reason.
    local = tmp_path / "local"
    add_model(local, "identity_fp32", FIXTURES / "identity_fp32.onnx")
    server = start_server(local, tmp_path / "third.log", [f"oci://{own.address}/ferry/other:v1", "--model-cache", str(cache)],
                          ["identity_fp32"])
    try:
        entry = repository_index(server)["other"]
        assert entry["state"] == "UNAVAILABLE" and own.address in entry["reason"], entry
    finally:
        assert stop_server(server) == 0
