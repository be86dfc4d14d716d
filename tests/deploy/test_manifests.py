"""`ferry deploy`'s manifests validated by the schemas their consumers use.

- Kubernetes objects: kubernetes-validate (the Kubernetes OpenAPI schemas,
  strict: no unknown fields) for the two newest Kubernetes versions it ships.
- KServe objects: schemas written from KServe's CRDs and admission rules
  (schemas/), and their containers, volumes and resources as core/v1 types.
- ServiceMonitor: the Prometheus Operator CRD's fields (schemas/).
- Compose: the Compose specification's JSON schema (as check-jsonschema vendors it).
"""
import json
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
from kubernetes_validate import utils as kv_utils

HERE = Path(__file__).parent
IMAGE = "registry.example.com/team/digits:v1"
ARTIFACT = "oci://registry.example.com/models/mlp:v3"
PINNED = "oci://registry.example.com/models/digits@sha256:" + "ab" * 32
KUBERNETES_VERSIONS = kv_utils.all_versions()[-2:]

KUBERNETES_CASES = {
    "defaults": [IMAGE, "--target", "kubernetes"],
    "queue-autoscaling": [IMAGE, "--target", "kubernetes", "--name", "digits", "--namespace", "ml", "--min-replicas", "2",
                          "--max-replicas", "8", "--cpu", "1500m", "--cpu-limit", "2", "--memory", "1536Mi", "--scale-on", "queue",
                          "--prometheus-operator", "--env", "FERRY_LOG_FORMAT=json", "--repository", "examples/models"],
    "fixed-replicas": [IMAGE, "--target", "kubernetes", "--replicas", "3", "--drain-timeout", "60"],
    "secured": [IMAGE, "--target", "kubernetes", "--tls-secret", "digits-tls", "--api-key-secret", "digits-keys",
                "--prometheus-operator"],
    "artifacts": [IMAGE, "--target", "kubernetes", "--model", ARTIFACT, "--model", PINNED, "--registry-secret", "regcred",
                  "--env", "FERRY_MODEL_MEMORY_BUDGET=2GiB"],
    "shared-jobs": [IMAGE, "--target", "kubernetes", "--replicas", "3", "--job-store-secret", "digits-jobs"],
    "gpus": [IMAGE, "--target", "kubernetes", "--gpus", "1", "--node-selector", "cloud.google.com/gke-accelerator=nvidia-l4",
             "--runtime-class", "nvidia"],
    "gpus-tolerations": [IMAGE, "--target", "kubernetes", "--gpus", "2", "--toleration", "dedicated=ml:NoSchedule",
                         "--toleration", "nvidia.com/gpu"],
}
KSERVE_CASES = {
    "serverless": [IMAGE, "--target", "kserve", "--min-replicas", "0", "--max-replicas", "5"],
    "raw-storage-grpc": [IMAGE, "--target", "kserve", "--kserve-mode", "raw", "--storage-uri", "s3://models/digits", "--grpc",
                         "--namespace", "serving", "--repository", "examples/models"],
    "api-keys": [IMAGE, "--target", "kserve", "--api-key-secret", "digits-keys"],
    "artifacts": [IMAGE, "--target", "kserve", "--model", ARTIFACT, "--registry-secret", "regcred"],
    "modelcar": [IMAGE, "--target", "kserve", "--storage-uri", "oci://registry.example.com/models/mlp-modelcar:v1"],
    "shared-jobs": [IMAGE, "--target", "kserve", "--job-store-secret", "digits-jobs"],
    "gpus": [IMAGE, "--target", "kserve", "--gpus", "1", "--node-selector", "nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3",
             "--runtime-class", "nvidia"],
}
COMPOSE_CASES = {
    "defaults": [IMAGE, "--target", "compose"],
    "swarm": [IMAGE, "--target", "compose", "--replicas", "3", "--cpu", "2", "--cpu-limit", "2", "--memory", "2Gi"],
    "secured": [IMAGE, "--target", "compose", "--tls-secret", "digits-tls", "--api-key-secret", "digits-keys"],
    "artifacts": [IMAGE, "--target", "compose", "--model", ARTIFACT, "--registry-secret", "regcred"],
    "shared-jobs": [IMAGE, "--target", "compose", "--replicas", "3", "--job-store-secret", "digits-jobs", "--tls-secret", "digits-tls"],
    "gpus": [IMAGE, "--target", "compose", "--gpus", "2", "--node-selector", "gpu=true", "--runtime-class", "nvidia"],
}


def schema(name: str) -> dict:
    return json.loads((HERE / "schemas" / name).read_text())


def validate_core(kind_spec: dict, version: str) -> None:
    """Validates containers/volumes as parts of a core/v1 Pod, strictly."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "check"}, "spec": kind_spec}
    kubernetes_validate.validate(pod, version, strict=True)


def test_two_newest_kubernetes_versions_are_checked():
    assert len(KUBERNETES_VERSIONS) == 2 and KUBERNETES_VERSIONS[-1] == kv_utils.latest_version()


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("case", sorted(KUBERNETES_CASES))
def test_kubernetes_objects_validate(deploy, case, version):
    documents = deploy(*KUBERNETES_CASES[case])
    kinds = [document.get("kind") for document in documents]
    assert kinds[:2] == ["Deployment", "Service"]
    for document in documents:
        if document.get("kind") == "ServiceMonitor":
            jsonschema.Draft202012Validator(schema("servicemonitor.schema.json")).validate(document)
        elif "rules" in document:
            rule = document["rules"][0]
            assert rule["name"]["as"] == "ferry_inference_pending_request_count"
        else:
            kubernetes_validate.validate(document, version, strict=True)


@pytest.mark.parametrize("case", sorted(KUBERNETES_CASES))
def test_deployment_wiring(deploy, case):
    documents = {document.get("kind"): document for document in deploy(*KUBERNETES_CASES[case])}
    deployment, service = documents["Deployment"], documents["Service"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    drain = int(next(env["value"] for env in container["env"] if env["name"] == "FERRY_DRAIN_TIMEOUT"))
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > drain + pre_stop
    assert pod["securityContext"]["runAsUser"] == 65532 and pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    secured = "--tls-secret" in KUBERNETES_CASES[case]
    expected_mounts = {"/tmp", "/etc/ferry/tls", "/etc/ferry/api-keys"} if secured else {"/tmp"}
    if "--model" in KUBERNETES_CASES[case]:
        expected_mounts |= {"/var/cache/ferry/models", "/etc/ferry/registry"}
    assert {mount["mountPath"] for mount in container["volumeMounts"]} == expected_mounts
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"].get("scheme", "HTTP") == ("HTTPS" if secured else "HTTP")
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["startupProbe"]["httpGet"]["path"] == "/v2/health/ready"
    names = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= set(names)
    grpc = next(port for port in service["spec"]["ports"] if port["name"] == "grpc")
    assert grpc["appProtocol"] == "grpc"
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    assert documents["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    if "HorizontalPodAutoscaler" in documents:
        hpa = documents["HorizontalPodAutoscaler"]["spec"]
        assert "replicas" not in deployment["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    else:
        assert deployment["spec"]["replicas"] >= 1


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("case", sorted(KSERVE_CASES))
def test_kserve_objects_validate(deploy, case, version):
    runtime, service = deploy(*KSERVE_CASES[case])
    jsonschema.Draft202012Validator(schema("servingruntime.schema.json")).validate(runtime)
    jsonschema.Draft202012Validator(schema("inferenceservice.schema.json")).validate(service)
    validate_core({"containers": runtime["spec"]["containers"], "volumes": runtime["spec"].get("volumes", [])}, version)
    model = service["spec"]["predictor"]["model"]
    validate_core({"containers": [{"name": "model", "image": IMAGE, "resources": model["resources"], "ports": model.get("ports", [])}]},
                  version)
    # What KServe's controller and webhook check across the two objects.
    assert runtime["spec"]["containers"][0]["name"] == "kserve-container"
    assert model["runtime"] == runtime["metadata"]["name"]
    assert model["protocolVersion"] in runtime["spec"]["protocolVersions"]
    assert model["modelFormat"]["name"] in {f["name"] for f in runtime["spec"]["supportedModelFormats"]}
    predictor = service["spec"]["predictor"]
    assert predictor["maxReplicas"] == 0 or predictor["minReplicas"] <= predictor["maxReplicas"]
    mode = service["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
    if mode == "Serverless":
        assert predictor.get("scaleMetric", "concurrency") in {"concurrency", "rps"}
        # Knative routes one port.
        assert len(model.get("ports", [])) <= 1
    else:
        assert "scaleMetric" not in predictor and predictor["minReplicas"] >= 1
    args = runtime["spec"]["containers"][0]["args"]
    assert args[args.index("--http-port") + 1] == "8080" and args[args.index("--grpc-port") + 1] == "9000"


def test_kserve_scale_to_zero_is_offered(deploy):
    _, service = deploy(*KSERVE_CASES["serverless"])
    assert service["spec"]["predictor"]["minReplicas"] == 0


def compose_schema() -> dict:
    path = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "compose-spec.json"
    return json.loads(path.read_text())


@pytest.mark.parametrize("case", sorted(COMPOSE_CASES))
def test_compose_validates_against_the_compose_specification(deploy, case):
    (document,) = deploy(*COMPOSE_CASES[case])
    validator = jsonschema.validators.validator_for(compose_schema())
    validator(compose_schema(), format_checker=validator.FORMAT_CHECKER).validate(document)
    service = document["services"][document["name"]]
    assert service["deploy"]["update_config"]["order"] == "start-first"
    assert service["healthcheck"]["test"][:3] == ["CMD", "/usr/local/bin/ferry", "health"]
    grace = int(service["stop_grace_period"].rstrip("s"))
    assert grace > int(service["environment"]["FERRY_DRAIN_TIMEOUT"])


def test_refusals_exit_1_with_one_line(deploy):
    cases = [
        (["--target", "kubernetes", "--replicas=-1"], "--replicas must be 0 or more, not -1"),
        (["--target", "kubernetes", "--min-replicas", "5", "--max-replicas", "2"], "--max-replicas 2 is below --min-replicas 5"),
        (["--target", "kubernetes", "--memory", "1Mi", "--repository", "examples/models"], "is below what the models need"),
        (["--target", "kubernetes", "--cpu", "lots"], "is not a Kubernetes quantity"),
        (["--target", "openshift"], "openshift"),
        (["--target", "kserve", "--tls-secret", "digits-tls"], "--tls-secret does not fit KServe"),
        (["--target", "kubernetes", "--api-key-secret", "Digits_Keys"], "must be a Secret's name"),
        (["--target", "kubernetes", "--model", "registry.example.com/models/mlp:v1"], "must be a model artifact oci://"),
        (["--target", "kserve", "--model", ARTIFACT, "--storage-uri", "s3://models/mlp"], "not both"),
        (["--target", "kubernetes", "--registry-secret", "regcred"], "--registry-secret is for pulling --model artifacts"),
        (["--target", "kubernetes", "--job-store-secret", "Jobs_Store"], "--job-store-secret 'Jobs_Store' must be a Secret's name"),
        (["--target", "kubernetes", "--gpus", "0"], "--gpus must be at least 1"),
        (["--target", "kubernetes", "--node-selector", "accelerator"], "--node-selector 'accelerator' must be KEY=VALUE"),
        (["--target", "kubernetes", "--toleration", "gpu:Sometimes"], "--toleration 'gpu:Sometimes' must be KEY[=VALUE][:EFFECT]"),
        (["--target", "compose", "--toleration", "gpu:NoSchedule"], "--toleration is for Kubernetes taints"),
        (["--target", "kubernetes", "--runtime-class", "NVIDIA"], "--runtime-class 'NVIDIA' must be a RuntimeClass name"),
    ]
    for args, message in cases:
        result = deploy(IMAGE, *args, check=False)
        assert result.returncode != 0, args
        assert message in result.stderr, (args, result.stderr)


def test_secrets_reach_ferry_serve_as_its_options(deploy):
    documents = {document.get("kind"): document for document in deploy(*KUBERNETES_CASES["secured"])}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    environment = {env["name"]: env["value"] for env in container["env"]}
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    # Whole-directory mounts (no subPath), so renewed Secrets reach the running pod and ferry reloads them.
    assert all("subPath" not in mount for mount in mounts.values())
    assert volumes["tls"]["secret"]["secretName"] == "digits-tls"
    assert environment["FERRY_TLS_CERT"] == mounts["tls"]["mountPath"] + "/tls.crt"
    assert environment["FERRY_TLS_KEY"] == mounts["tls"]["mountPath"] + "/tls.key"
    assert volumes["api-keys"]["secret"]["secretName"] == "digits-keys"
    assert environment["FERRY_API_KEYS"] == mounts["api-keys"]["mountPath"] + "/api-keys"
    assert all(mount["readOnly"] for name, mount in mounts.items() if name != "tmp")
    http = next(port for port in documents["Service"]["spec"]["ports"] if port["name"] == "http")
    assert http["appProtocol"] == "https"
    # Prometheus scrapes /metrics with the Secret's metrics token.
    endpoint = documents["ServiceMonitor"]["spec"]["endpoints"][0]
    assert endpoint["authorization"] == {"type": "Bearer", "credentials": {"name": "digits-keys", "key": "metrics-token"}}

    runtime, _ = deploy(*KSERVE_CASES["api-keys"])
    container = runtime["spec"]["containers"][0]
    assert {env["name"]: env["value"] for env in container["env"]}["FERRY_API_KEYS"] == "/etc/ferry/api-keys/api-keys"
    assert any(volume.get("secret", {}).get("secretName") == "digits-keys" for volume in runtime["spec"]["volumes"])

    (compose,) = deploy(*COMPOSE_CASES["secured"])
    service = compose["services"][compose["name"]]
    assert service["environment"]["FERRY_TLS_CERT"] == "/run/secrets/tls.crt"
    assert service["environment"]["FERRY_API_KEYS"] == "/run/secrets/api-keys"
    assert {secret["target"] for secret in service["secrets"]} == {"tls.crt", "tls.key", "api-keys"}
    assert compose["secrets"]["digits-tls-tls-crt"] == {"file": "./digits-tls/tls.crt"}
    assert service["healthcheck"]["test"][3].startswith("https://127.0.0.1:") and "--insecure" in service["healthcheck"]["test"]


def test_model_artifacts_are_pulled_by_ferry_into_a_cache_volume(deploy):
    """With --model, the image's entrypoint (which serves /models) is replaced
    by `ferry serve oci://…` with its cache on a writable volume, and the
    registry credentials reach it as Docker's config directory."""
    expected = [ARTIFACT, PINNED]
    documents = {document.get("kind"): document for document in deploy(*KUBERNETES_CASES["artifacts"])}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    command = container["command"] + container["args"]
    assert command[:2] == ["/usr/local/bin/ferry", "serve"] and command[2:4] == expected
    cache = command[command.index("--model-cache") + 1]
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert mounts["model-cache"]["mountPath"] == cache and not mounts["model-cache"].get("readOnly")
    assert "emptyDir" in volumes["model-cache"]
    assert volumes["registry"]["secret"] == {"secretName": "regcred", "items": [{"key": ".dockerconfigjson", "path": "config.json"}]}
    environment = {env["name"]: env["value"] for env in container["env"]}
    assert environment["DOCKER_CONFIG"] == mounts["registry"]["mountPath"]
    assert environment["FERRY_MODEL_MEMORY_BUDGET"] == "2GiB"
    assert command[command.index("--http-port") + 1] == str(container["ports"][0]["containerPort"])

    runtime, service = deploy(*KSERVE_CASES["artifacts"])
    container = runtime["spec"]["containers"][0]
    assert container["command"] == ["/usr/local/bin/ferry"] and container["args"][1] == ARTIFACT
    assert "storageUri" not in service["spec"]["predictor"]["model"]
    assert any("emptyDir" in volume for volume in runtime["spec"]["volumes"])

    # KServe's own OCI form: a modelcar image its storage initializer mounts at /mnt/models.
    runtime, service = deploy(*KSERVE_CASES["modelcar"])
    assert service["spec"]["predictor"]["model"]["storageUri"].startswith("oci://")
    assert runtime["spec"]["containers"][0]["args"][:2] == ["serve", "/mnt/models"]

    (compose,) = deploy(*COMPOSE_CASES["artifacts"])
    service = compose["services"][compose["name"]]
    assert service["entrypoint"][:3] == ["/usr/local/bin/ferry", "serve", ARTIFACT]
    assert service["volumes"] == [f"model-cache:{cache}"] and "model-cache" in compose["volumes"]
    assert service["environment"]["DOCKER_CONFIG"] == "/etc/ferry/registry"
    assert any(secret["target"] == "/etc/ferry/registry/config.json" for secret in service["secrets"])


def test_shared_job_store_reaches_every_replica(deploy):
    """--job-store-secret: every replica reads the store's URL and password
    from the Secret (never from the manifest) and names itself by its pod."""
    documents = {document.get("kind"): document for document in deploy(*KUBERNETES_CASES["shared-jobs"])}
    container = documents["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    sources = {env["name"]: env.get("valueFrom") for env in container["env"]}
    assert sources["FERRY_JOB_STORE"] == {"secretKeyRef": {"name": "digits-jobs", "key": "url"}}
    assert sources["FERRY_JOB_STORE_PASSWORD"] == {"secretKeyRef": {"name": "digits-jobs", "key": "password"}}
    assert sources["FERRY_REPLICA_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert all("value" not in env for env in container["env"] if env["name"].startswith("FERRY_JOB_STORE"))

    runtime, _ = deploy(*KSERVE_CASES["shared-jobs"])
    sources = {env["name"]: env.get("valueFrom") for env in runtime["spec"]["containers"][0]["env"]}
    assert sources["FERRY_JOB_STORE"] == {"secretKeyRef": {"name": "digits-jobs", "key": "url"}}

    # Compose brings its own PostgreSQL, its data on a named volume, and ferry waits for it to be healthy.
    (compose,) = deploy(*COMPOSE_CASES["shared-jobs"])
    ferry = compose["services"][compose["name"]]
    postgres = compose["services"]["postgres"]
    assert ferry["environment"]["FERRY_JOB_STORE"].startswith("postgres://ferry@postgres:5432/ferry")
    assert ferry["environment"]["FERRY_JOB_STORE_PASSWORD_FILE"] == "/run/secrets/job-store-password"
    assert ferry["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/job-store-password"
    assert postgres["volumes"] == ["job-store:/var/lib/postgresql/data"] and "job-store" in compose["volumes"]
    assert compose["secrets"]["digits-jobs-password"] == {"file": "./digits-jobs/password"}
    # Swarm mounts secrets as root unless told: ferry (65532) must be able to read its own.
    assert all(secret["uid"] == "65532" and secret["mode"] == 0o400 for secret in ferry["secrets"])


def test_gpus_and_placement(deploy):
    """--gpus asks for nvidia.com/gpu where each target spells it, GPU pods
    tolerate the taint GPU node pools carry unless told otherwise, and node
    selection and the runtime class reach the pod."""
    documents = {document.get("kind"): document for document in deploy(*KUBERNETES_CASES["gpus"])}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in pod["containers"][0]["resources"]["requests"]
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert pod["runtimeClassName"] == "nvidia"

    documents = {document.get("kind"): document for document in deploy(*KUBERNETES_CASES["gpus-tolerations"])}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    assert pod["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists"},
    ]
    assert "nodeSelector" not in pod and "runtimeClassName" not in pod

    # Without GPUs, nothing of it appears.
    documents = {document.get("kind"): document for document in deploy(*KUBERNETES_CASES["defaults"])}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    assert "tolerations" not in pod and "nvidia.com/gpu" not in pod["containers"][0]["resources"]["limits"]

    runtime, service = deploy(*KSERVE_CASES["gpus"])
    predictor = service["spec"]["predictor"]
    assert predictor["model"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert runtime["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert predictor["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
    assert predictor["runtimeClassName"] == "nvidia" and predictor["tolerations"][0]["key"] == "nvidia.com/gpu"

    (compose,) = deploy(*COMPOSE_CASES["gpus"])
    service = compose["services"][compose["name"]]
    assert service["deploy"]["resources"]["reservations"]["devices"] == [{"driver": "nvidia", "count": 2, "capabilities": ["gpu"]}]
    assert service["deploy"]["placement"] == {"constraints": ["node.labels.gpu == true"]}
    assert service["runtime"] == "nvidia"
