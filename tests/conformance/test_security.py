"""TLS, API keys, scopes and rate limits, against a live `ferry serve` as
clients meet them: every HTTP route and gRPC method with every kind of
credential, NVIDIA's clients over TLS, `openssl s_client` for the protocol
versions and ALPN, mutual TLS, a certificate and a keys file replaced while
clients keep calling, and a client sending at twice its rate limit."""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import requests
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from certificates import make_ca, make_cert
from conformance_support import FIXTURES, add_model, case, ferry_bin, start_server, stop_server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

# name -> scopes, as the keys file grants them.
KEYS = {
    "reader": "metadata",
    "runner": "infer,metadata",
    "auditor": "statistics,metrics",
    "operator": "*",
    "prober": "health",
    "submitter": "infer,jobs",
    "neighbour": "infer,jobs",
    "admin": "jobs,jobs-admin",
}
GRPC_INFERENCE = "inference.GRPCInferenceService"


# ---------------------------------------------------------------------------
# Certificates (openssl) and keys (ferry api-key)
# ---------------------------------------------------------------------------


def new_key(ferry: str, name: str, scopes: str, rate: str | None = None) -> tuple[str, str]:
    """(key, keys-file line) from `ferry api-key`."""
    args = [ferry, "api-key", name, "--scopes", scopes] + (["--rate-limit", rate] if rate else [])
    key, line = subprocess.run(args, check=True, capture_output=True, text=True).stdout.splitlines()
    return key, line


def _repository(root: Path) -> Path:
    repo = root / "models"
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    return repo


ISSUER = "https://issuer.ferry.test"
AUDIENCE = "ferry-test"


class TokenIssuer:
    """An identity provider's signing keys (RSA, P-256, Ed25519), their JSON
    Web Key Set, and PyJWT to sign tokens with them."""

    def __init__(self):
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        self.jwt = jwt
        self.keys = {
            "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()),
            "EdDSA": ed25519.Ed25519PrivateKey.generate(),
        }
        self.outsider = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def key_set(self) -> dict:
        from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
        writers = {"RS256": RSAAlgorithm, "ES256": ECAlgorithm, "EdDSA": OKPAlgorithm}
        keys = []
        for algorithm, key in self.keys.items():
            jwk = json.loads(writers[algorithm].to_jwk(key.public_key()))
            jwk.update({"kid": f"key-{algorithm}", "alg": algorithm, "use": "sig"})
            keys.append(jwk)
        return {"keys": keys}

    def token(self, subject: str, *, algorithm: str = "RS256", scope: str | None = None, scp: list[str] | None = None,
              expires_in: float = 300, audience: str = AUDIENCE, issuer: str = ISSUER, forged: bool = False,
              not_before: float | None = None) -> str:
        now = time.time()
        claims = {"iss": issuer, "aud": audience, "sub": subject, "iat": int(now), "exp": int(now + expires_in)}
        if scope is not None:
            claims["scope"] = scope
        if scp is not None:
            claims["scp"] = scp
        if not_before is not None:
            claims["nbf"] = int(now + not_before)
        key = self.outsider if forged else self.keys[algorithm]
        return self.jwt.encode(claims, key, algorithm=algorithm, headers={"kid": f"key-{algorithm}"})


class Secured:
    """A server with TLS, API keys and JWTs, and what its tests need to reach it."""

    def __init__(self, server, keys: dict[str, str], directory: Path, keys_file: Path, issuer: TokenIssuer):
        self.server = server
        self.keys = keys
        self.directory = directory
        self.keys_file = keys_file
        self.issuer = issuer

    def headers(self, name: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[name]}"} if name else {}

    def credentials(self) -> list[tuple[str, str | None, set[str] | None]]:
        """(label, Authorization value, scopes it holds; None where it must be refused as invalid)."""
        every = {"health", "metadata", "infer", "jobs", "jobs-admin", "repository", "statistics", "metrics"}
        listed = [("none", None, set()), ("wrong key", "Bearer not-a-key", None)]
        for name, scopes in KEYS.items():
            listed.append((name, f"Bearer {self.keys[name]}", every if scopes == "*" else set(scopes.split(","))))
        issuer = self.issuer
        listed += [
            ("jwt RS256", "Bearer " + issuer.token("svc-a", scope="openid infer metadata"), {"infer", "metadata"}),
            ("jwt ES256 scp", "Bearer " + issuer.token("svc-b", algorithm="ES256", scp=["statistics", "metrics"]),
             {"statistics", "metrics"}),
            ("jwt EdDSA", "Bearer " + issuer.token("svc-c", algorithm="EdDSA", scope="repository"), {"repository"}),
            ("jwt expired", "Bearer " + issuer.token("svc-a", scope="infer metadata", expires_in=-3600), None),
            ("jwt wrong audience", "Bearer " + issuer.token("svc-a", scope="infer metadata", audience="another"), None),
            ("jwt wrong issuer", "Bearer " + issuer.token("svc-a", scope="infer metadata", issuer="https://evil.test"), None),
            ("jwt forged", "Bearer " + issuer.token("svc-a", scope="infer metadata", forged=True), None),
        ]
        return listed


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    root = tmp_path_factory.mktemp("security")
    make_ca(root, "ca")
    cert, key = make_cert(root, "ca", "server")
    # The served files are copies, so a test can replace them in place.
    shutil.copy(cert, root / "served.pem")
    shutil.copy(key, root / "served.key")
    ferry = str(ferry_bin())
    keys, lines = {}, []
    for name, scopes in KEYS.items():
        keys[name], line = new_key(ferry, name, scopes, rate="none")
        lines.append(line)
    keys["limited"], line = new_key(ferry, "limited", "infer,metadata", rate="20/s")
    lines.append(line)
    keys_file = root / "keys"
    keys_file.write_text("# test keys\n" + "\n".join(lines) + "\n")
    issuer = TokenIssuer()
    (root / "jwks.json").write_text(json.dumps(issuer.key_set()))
    server = start_server(
        _repository(root), root / "ferry.log",
        ["--tls-cert", str(root / "served.pem"), "--tls-key", str(root / "served.key"), "--metrics-tls",
         "--api-keys", str(keys_file), "--jwt-jwks", str(root / "jwks.json"), "--jwt-issuer", ISSUER,
         "--jwt-audience", AUDIENCE, "--job-store", str(root / "jobs.sqlite")],
        ["mlp"], ca=root / "ca.pem",
    )
    yield Secured(server, keys, root, keys_file, issuer)
    stop_server(server)
    log = (root / "ferry.log").read_text(errors="replace")
    for key in keys.values():
        assert key not in log, "an API key appears in the server log"


# ---------------------------------------------------------------------------
# Every route and method, every credential
# ---------------------------------------------------------------------------


def expected_scope(method: str, path: str) -> str:
    """The policy, stated apart from the server's table: what each route needs."""
    if path.endswith("/ready") or path.startswith("/v2/health/"):
        return "health"
    if path.endswith("/stats"):
        return "statistics"
    if path.endswith("/infer") or re.search(r":(predict|classify|regress)$", path):
        return "infer"
    if path.startswith("/v2/jobs"):
        return "jobs"
    if path.startswith("/v2/repository"):
        return "repository"
    if path == "/metrics":
        return "metrics"
    return "metadata"


def expected(scope: str, holds: set[str] | None) -> str:
    """"ok", "401" or "403" for a request of `scope` by a credential holding `holds`."""
    if scope == "health":
        return "ok"  # open to everyone by default
    if holds is None or not holds:
        return "401"  # no credential (empty set) or an invalid one (None)
    return "ok" if scope in holds else "403"


def concrete(path: str) -> str:
    return (path.replace("{model}", "mlp").replace("{version}", "1").replace("{label}", "stable")
            .replace("{id}", "00000000-0000-4000-8000-000000000000"))


def test_every_http_route_with_every_credential(secured):
    base = secured.server.http_base()
    ca = str(secured.server.ca)
    document = requests.get(f"{base}/openapi.json", headers=secured.headers("reader"), verify=ca, timeout=10).json()
    routes = [(method.upper(), path) for path, item in document["paths"].items() for method in item
              if method in ("get", "head", "post", "delete")]
    assert len(routes) > 30
    metrics = f"https://{secured.server.metrics_url}"
    credentials = secured.credentials()
    checked = 0
    with requests.Session() as session:
        session.trust_env = False
        session.verify = ca
        for method, path in routes:
            scope = expected_scope(method, path)
            url = (metrics if path == "/metrics" else base) + concrete(path)
            if path.endswith("/unload") or path.endswith("/load"):
                # Loading and unloading change the server: ask for a model that is not there.
                url = base + concrete(path).replace("/mlp/", "/absent/")
            for label, authorization, holds in credentials:
                headers = {"Authorization": authorization} if authorization else {}
                response = session.request(method, url, headers=headers, data=b"{}" if method == "POST" else None, timeout=10)
                outcome = expected(scope, holds)
                context = (method, path, label, response.status_code, response.text[:200])
                if outcome == "ok":
                    assert response.status_code not in (401, 403), context
                    continue
                assert str(response.status_code) == outcome, context
                if method != "HEAD":
                    assert "error" in response.json()
                challenge = response.headers["WWW-Authenticate"]
                assert challenge.startswith('Bearer realm="ferry"'), context
                if outcome == "403":
                    assert f'scope="{scope}"' in challenge
                elif holds is None:
                    assert 'error="invalid_token"' in challenge
                checked += 1
    assert checked > len(routes) * 8


GRPC_METHODS = {
    f"/{GRPC_INFERENCE}/ServerLive": "health",
    f"/{GRPC_INFERENCE}/ServerReady": "health",
    f"/{GRPC_INFERENCE}/ModelReady": "health",
    f"/{GRPC_INFERENCE}/ServerMetadata": "metadata",
    f"/{GRPC_INFERENCE}/ModelMetadata": "metadata",
    f"/{GRPC_INFERENCE}/ModelConfig": "metadata",
    f"/{GRPC_INFERENCE}/ModelInfer": "infer",
    f"/{GRPC_INFERENCE}/ModelStreamInfer": "infer",
    f"/{GRPC_INFERENCE}/ModelStatistics": "statistics",
    f"/{GRPC_INFERENCE}/RepositoryIndex": "repository",
    f"/{GRPC_INFERENCE}/RepositoryModelLoad": "repository",
    f"/{GRPC_INFERENCE}/RepositoryModelUnload": "repository",
    "/tensorflow.serving.PredictionService/Predict": "infer",
    "/tensorflow.serving.PredictionService/GetModelMetadata": "metadata",
    "/tensorflow.serving.ModelService/GetModelStatus": "metadata",
}


def test_every_grpc_method_with_every_credential(secured):
    credentials = grpc.ssl_channel_credentials(root_certificates=secured.server.ca.read_bytes())
    status = {"401": grpc.StatusCode.UNAUTHENTICATED, "403": grpc.StatusCode.PERMISSION_DENIED}
    with grpc.secure_channel(secured.server.grpc_url, credentials) as channel:
        for path, scope in GRPC_METHODS.items():
            for label, authorization, holds in secured.credentials():
                metadata = [("authorization", authorization)] if authorization else []
                # An empty message: past the access check it is answered by the method (often INVALID_ARGUMENT).
                try:
                    if path.endswith("ModelStreamInfer"):
                        call = channel.stream_stream(path, request_serializer=None, response_deserializer=None)
                        list(call(iter([b""]), metadata=metadata, timeout=10))
                    else:
                        call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
                        call(b"", metadata=metadata, timeout=10)
                    code = grpc.StatusCode.OK
                except grpc.RpcError as error:
                    code = error.code()
                outcome = expected(scope, holds)
                if outcome == "ok":
                    assert code not in status.values(), (path, label, code)
                else:
                    assert code == status[outcome], (path, label, code)


def _tampered(token: str) -> str:
    import base64
    header, claims, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    decoded["scope"] = "metadata repository"
    edited = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


def test_token_failures_say_why(secured):
    server, issuer = secured.server, secured.issuer
    cases = [
        (issuer.token("svc", scope="metadata", expires_in=-3600), "has expired"),
        (issuer.token("svc", scope="metadata", audience="another"), "not meant for this server"),
        (issuer.token("svc", scope="metadata", issuer="https://evil.test"), "another issuer"),
        (issuer.token("svc", scope="metadata", forged=True), "signature does not verify"),
        (issuer.token("svc", scope="metadata", not_before=3600), "not valid yet"),
        (issuer.jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "svc", "scope": "metadata"},
                           issuer.keys["RS256"], algorithm="RS256"), "no numeric 'exp'"),
        # The classic confusions: no signature at all, and an HMAC keyed with public material.
        (issuer.jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "svc", "exp": time.time() + 60}, None, algorithm="none"),
         "algorithm none is not accepted"),
        (issuer.jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "svc", "exp": time.time() + 60}, "s" * 32,
                           algorithm="HS256"), "algorithm HS256 is not accepted"),
        # A valid token whose claims were edited, and one that names the RSA key but is signed with the EC key.
        (_tampered(issuer.token("svc", scope="metadata")), "signature does not verify"),
        (issuer.jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "svc", "exp": time.time() + 60}, issuer.keys["ES256"],
                           algorithm="ES256", headers={"kid": "key-RS256"}), "signature does not verify"),
    ]
    for token, reason in cases:
        response = requests.get(f"{server.http_base()}/v2", headers={"Authorization": f"Bearer {token}"},
                                verify=str(server.ca), timeout=10)
        assert response.status_code == 401 and reason in response.json()["error"], (reason, response.text)
        assert token not in (secured.directory / "ferry.log").read_text(errors="replace")
    good = issuer.token("svc-ok", scope="metadata", not_before=30)  # within the 60 s leeway
    assert requests.get(f"{server.http_base()}/v2", headers={"Authorization": f"Bearer {good}"},
                        verify=str(server.ca), timeout=10).status_code == 200


# ---------------------------------------------------------------------------
# NVIDIA's clients over TLS
# ---------------------------------------------------------------------------


def _mlp_input(module):
    request = case("mlp", "batch1")["request"]["inputs"][0]
    tensor = module.InferInput("input", request["shape"], "FP32")
    tensor.set_data_from_numpy(np.array(request["data"], dtype=np.float32).reshape(request["shape"]))
    return tensor


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_tritonclient_over_tls_with_a_key(secured, protocol):
    client = secured.server.client(protocol)
    module = httpclient if protocol == "http" else grpcclient
    key = {"authorization": f"Bearer {secured.keys['runner']}"}
    assert client.is_server_live()
    result = client.infer("mlp", [_mlp_input(module)], headers=key)
    expected = np.array(case("mlp", "batch1")["response"]["outputs"][0]["data"], dtype=np.float32)
    np.testing.assert_allclose(result.as_numpy("output").reshape(-1), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(InferenceServerException) as refused:
        client.infer("mlp", [_mlp_input(module)])
    assert refused.value.status() in ("401", "StatusCode.UNAUTHENTICATED")
    with pytest.raises(InferenceServerException) as forbidden:
        client.load_model("mlp", headers={"authorization": f"Bearer {secured.keys['reader']}"})
    assert forbidden.value.status() in ("403", "StatusCode.PERMISSION_DENIED")
    assert "lacks the 'repository' scope" in forbidden.value.message()


def test_plain_requests_to_the_tls_ports_fail(secured):
    with pytest.raises(requests.RequestException):
        requests.get(f"http://{secured.server.http_url}/v2/health/live", timeout=5)
    with grpcclient.InferenceServerClient(secured.server.grpc_url) as plain:
        with pytest.raises(InferenceServerException):
            plain.is_server_live(client_timeout=5)


# ---------------------------------------------------------------------------
# Protocol versions and ALPN (openssl s_client)
# ---------------------------------------------------------------------------


def _s_client(port: int, ca: Path, *args: str) -> str:
    run = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(ca), "-servername", "localhost", *args],
        input="", capture_output=True, text=True, timeout=20)
    return run.stdout + run.stderr


def test_tls_versions_and_alpn(secured):
    server = secured.server
    for version in ("-tls1", "-tls1_1"):
        output = _s_client(server.http_port, server.ca, version)
        assert "Cipher is (NONE)" in output or "no protocols available" in output or "alert" in output, output[-800:]
    for version, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        output = _s_client(server.http_port, server.ca, version)
        assert f"Protocol  : {name}" in output or f"New, {name}" in output, output[-800:]
        assert "Verify return code: 0 (ok)" in output
    # TLS 1.2 offers forward-secret AEAD suites only: no CBC, no RSA key exchange, no NULL encryption.
    # (This openssl cannot offer RC4 or 3DES at all; BoringSSL has neither.)
    for weak in ("AES128-SHA", "AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "NULL-SHA256",
                 "ECDHE-ECDSA-NULL-SHA"):
        # SECLEVEL=0: Debian's openssl would not even offer the weakest otherwise.
        output = _s_client(server.http_port, server.ca, "-tls1_2", "-cipher", f"{weak}:@SECLEVEL=0")
        assert "no cipher match" not in output, (weak, output[-300:])
        assert "Cipher is (NONE)" in output or "no ciphers available" in output or "alert" in output, (weak, output[-600:])
    for strong in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"):
        output = _s_client(server.grpc_port, server.ca, "-tls1_2", "-cipher", strong)
        assert f"Cipher is {strong}" in output, (strong, output[-600:])
    assert "ALPN protocol: h2" in _s_client(server.http_port, server.ca, "-alpn", "h2,http/1.1")
    assert "ALPN protocol: http/1.1" in _s_client(server.http_port, server.ca, "-alpn", "http/1.1")
    assert "ALPN protocol: h2" in _s_client(server.grpc_port, server.ca, "-alpn", "h2")
    assert "ALPN protocol: http/1.1" in _s_client(server.metrics_port, server.ca, "-alpn", "http/1.1")


# ---------------------------------------------------------------------------
# Rotation: certificate and keys file replaced under load
# ---------------------------------------------------------------------------


def _served_serial(port: int, ca: Path) -> int:
    context = ssl.create_default_context(cafile=str(ca))
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                          capture_output=True, check=True).stdout.decode()
    return int(text.strip().split("=")[1], 16)


def _cert_serial(path: Path) -> int:
    text = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-serial"], capture_output=True,
                          check=True, text=True).stdout
    return int(text.strip().split("=")[1], 16)


def test_certificate_rotation_under_load(secured):
    server, root = secured.server, secured.directory
    before = _served_serial(server.http_port, server.ca)
    assert before == _cert_serial(root / "served.pem")
    failures: list[str] = []
    done = threading.Event()
    counts = {"kept": 0, "fresh": 0}

    def keep_alive():
        # One connection across the rotation: it keeps the certificate it began with.
        with requests.Session() as session:
            session.trust_env = False
            session.verify = str(server.ca)
            while not done.is_set():
                response = session.get(f"{server.http_base()}/v2/health/ready", timeout=10)
                if response.status_code != 200:
                    failures.append(f"kept: {response.status_code}")
                counts["kept"] += 1

    def fresh_connections():
        module = grpcclient
        while not done.is_set():
            try:
                response = requests.get(f"{server.http_base()}/v2/health/ready", verify=str(server.ca), timeout=10)
                if response.status_code != 200:
                    failures.append(f"fresh: {response.status_code}")
                with module.InferenceServerClient(server.grpc_url, ssl=True, root_certificates=str(server.ca)) as client:
                    client.infer("mlp", [_mlp_input(module)], headers={"authorization": f"Bearer {secured.keys['runner']}"})
                counts["fresh"] += 1
            except Exception as error:  # noqa: BLE001 - every failure is reported
                failures.append(f"fresh: {error!r}")

    threads = [threading.Thread(target=keep_alive), threading.Thread(target=fresh_connections)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    cert, key = make_cert(root, "ca", "rotated")
    # cert-manager writes the new pair in place: the key first, then the certificate, each by rename.
    shutil.copy(key, root / "served.key.new")
    shutil.copy(cert, root / "served.pem.new")
    (root / "served.key.new").rename(root / "served.key")
    (root / "served.pem.new").rename(root / "served.pem")
    # Each endpoint looks at the files at most once a second, on a new connection.
    rotated = _cert_serial(root / "rotated.pem")
    deadline = time.monotonic() + 10
    after = grpc_after = before
    while (after, grpc_after) != (rotated, rotated) and time.monotonic() < deadline:
        time.sleep(0.2)
        after = _served_serial(server.http_port, server.ca)
        grpc_after = _served_serial(server.grpc_port, server.ca)
    time.sleep(1.0)
    done.set()
    for thread in threads:
        thread.join(timeout=30)
    assert after == grpc_after == rotated != before, "new connections get the new certificate"
    assert failures == [], failures[:5]
    assert counts["kept"] > 10 and counts["fresh"] > 2, counts


def test_half_written_certificate_keeps_the_old_one(secured):
    server, root = secured.server, secured.directory
    serving = _served_serial(server.http_port, server.ca)
    original = (root / "served.pem").read_bytes()
    try:
        (root / "served.pem").write_bytes(original[: len(original) // 2])
        time.sleep(1.5)
        assert _served_serial(server.http_port, server.ca) == serving
        assert "kept the previous TLS certificate" in server.log_tail(20000)
    finally:
        (root / "served.pem").write_bytes(original)


def test_keys_file_reloaded_when_it_changes(secured):
    server = secured.server
    ferry = server.args[0]
    key, line = new_key(ferry, "newcomer", "metadata")
    url = f"{server.http_base()}/v2"
    headers = {"Authorization": f"Bearer {key}"}
    assert requests.get(url, headers=headers, verify=str(server.ca), timeout=10).status_code == 401
    original = secured.keys_file.read_text()
    try:
        staged = secured.keys_file.with_suffix(".new")
        staged.write_text(original + line + "\n")
        staged.rename(secured.keys_file)
        deadline = time.monotonic() + 10
        status = 401
        while status == 401 and time.monotonic() < deadline:
            time.sleep(0.2)
            status = requests.get(url, headers=headers, verify=str(server.ca), timeout=10).status_code
        assert status == 200
    finally:
        staged = secured.keys_file.with_suffix(".new")
        staged.write_text(original)
        staged.rename(secured.keys_file)
    deadline = time.monotonic() + 10
    while requests.get(url, headers=headers, verify=str(server.ca), timeout=10).status_code != 401:
        assert time.monotonic() < deadline, "a removed key still works"
        time.sleep(0.2)


# ---------------------------------------------------------------------------
# Rate limits
# ---------------------------------------------------------------------------


def _refusals(secured, reason: str) -> float:
    server = secured.server
    text = requests.get(f"https://{server.metrics_url}/metrics", verify=str(server.ca), timeout=10,
                        headers=secured.headers("auditor")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("ferry_access_refused_total{") and f'reason="{reason}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_rate_limit_at_twice_the_rate(secured):
    server = secured.server
    refused_before = _refusals(secured, "rate_limited")
    headers = secured.headers("limited")  # 20/s
    statuses, retry_after = [], set()
    with requests.Session() as session:
        session.trust_env = False
        session.verify = str(server.ca)
        start = time.monotonic()
        for i in range(120):  # 40 a second for 3 s: twice the limit
            time.sleep(max(0.0, start + i / 40 - time.monotonic()))
            response = session.get(f"{server.http_base()}/v2/models/mlp", headers=headers, timeout=10)
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.add(response.headers.get("Retry-After"))
                assert "rate limit exceeded for 'limited'" in response.json()["error"]
        elapsed = time.monotonic() - start
    passed, refused = statuses.count(200), statuses.count(429)
    assert passed + refused == 120
    # A second's burst, then 20 a second: about 80 of the 120 pass. The share
    # that passes matches the rate within 10% of what the elapsed time allows.
    allowed = 20 + 20 * elapsed
    assert abs(passed - allowed) <= 0.1 * allowed, (passed, allowed, statuses)
    assert retry_after == {"1"}
    assert _refusals(secured, "rate_limited") - refused_before == refused
    # gRPC shares the credential's bucket.
    time.sleep(1.5)
    client = server.client("grpc")
    codes = []
    for _ in range(40):
        try:
            client.get_model_metadata("mlp", headers={"authorization": headers["Authorization"]})
            codes.append("OK")
        except InferenceServerException as error:
            codes.append(error.status())
    assert "StatusCode.RESOURCE_EXHAUSTED" in codes and codes.count("OK") >= 20


def test_anonymous_clients_limited_per_address_without_authentication(tmp_path_factory):
    root = tmp_path_factory.mktemp("security-anonymous")
    server = start_server(_repository(root), root / "ferry.log", ["--rate-limit", "10/s"], ["mlp"])
    try:
        with requests.Session() as session:
            statuses = [session.get(f"{server.http_base()}/v2/models/mlp", timeout=10).status_code for _ in range(30)]
            assert 8 <= statuses.count(200) <= 14 and statuses.count(429) >= 16, statuses
            # Health checks are never limited, so probes keep a busy pod alive.
            assert all(session.get(f"{server.http_base()}/v2/health/live", timeout=10).status_code == 200 for _ in range(30))
    finally:
        stop_server(server)


# ---------------------------------------------------------------------------
# Mutual TLS and protected health
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["required", "optional"])
def test_mutual_tls(tmp_path_factory, mode):
    root = tmp_path_factory.mktemp(f"security-mtls-{mode}")
    make_ca(root, "ca")
    make_ca(root, "clients")
    make_ca(root, "strangers")
    cert, key = make_cert(root, "ca", "server")
    client_cert, client_key = make_cert(root, "clients", "alice", client=True)
    stranger_cert, stranger_key = make_cert(root, "strangers", "mallory", client=True)
    server = start_server(
        _repository(root), root / "ferry.log",
        ["--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(root / "clients.pem"),
         "--tls-client-auth", mode],
        ["mlp"], ca=root / "ca.pem", client_cert=(str(client_cert), str(client_key)),
    )
    try:
        url = f"{server.http_base()}/v2/health/ready"
        ca = str(server.ca)
        assert requests.get(url, verify=ca, cert=(str(client_cert), str(client_key)), timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(url, verify=ca, cert=(str(stranger_cert), str(stranger_key)), timeout=10)
        if mode == "required":
            with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
                requests.get(url, verify=ca, timeout=10)
            with grpcclient.InferenceServerClient(server.grpc_url, ssl=True, root_certificates=ca) as anonymous:
                with pytest.raises(InferenceServerException):
                    anonymous.is_server_live(client_timeout=5)
            with grpcclient.InferenceServerClient(
                server.grpc_url, ssl=True, root_certificates=ca, private_key=str(client_key),
                certificate_chain=str(client_cert)) as client:
                assert client.is_server_live()
        else:
            assert requests.get(url, verify=ca, timeout=10).status_code == 200
    finally:
        stop_server(server)


def test_protect_health(tmp_path_factory):
    root = tmp_path_factory.mktemp("security-health")
    ferry = ferry_bin()
    probe_key, probe_line = new_key(str(ferry), "probe", "health")
    user_key, user_line = new_key(str(ferry), "user", "infer,metadata")
    (root / "keys").write_text(probe_line + "\n" + user_line + "\n")
    server = start_server(
        _repository(root), root / "ferry.log", ["--api-keys", str(root / "keys"), "--protect-health"], ["mlp"],
        wait_headers={"Authorization": f"Bearer {probe_key}"},
    )
    try:
        url = f"{server.http_base()}/v2/health/live"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, headers={"Authorization": f"Bearer {user_key}"}, timeout=10).status_code == 403
        assert requests.head(url, headers={"Authorization": f"Bearer {probe_key}"}, timeout=10).status_code == 200
        with grpcclient.InferenceServerClient(server.grpc_url) as client:
            with pytest.raises(InferenceServerException) as refused:
                client.is_server_live()
            assert refused.value.status() == "StatusCode.UNAUTHENTICATED"
            assert client.is_server_live(headers={"authorization": f"Bearer {probe_key}"})
    finally:
        stop_server(server)


# ---------------------------------------------------------------------------
# Jobs belong to the credential that submitted them
# ---------------------------------------------------------------------------


def _submit(secured, who: str, data: list[float], key: str | None = None):
    server = secured.server
    body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 64], "data": data}]}
    headers = {**secured.headers(who), "Prefer": "respond-async"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{server.http_base()}/v2/models/mlp/infer", json=body, headers=headers,
                         verify=str(server.ca), timeout=10)


def _wait_for_job(secured, who: str, job_id: str) -> dict:
    server = secured.server
    deadline = time.monotonic() + 30
    while True:
        response = requests.get(f"{server.http_base()}/v2/jobs/{job_id}", headers=secured.headers(who),
                                verify=str(server.ca), timeout=10)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_jobs_are_isolated_per_credential(secured):
    server = secured.server
    data = case("mlp", "batch1")["request"]["inputs"][0]["data"]
    submitted = _submit(secured, "submitter", data)
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    assert submitted.json()["owner"] == "api-key:submitter"
    job = _wait_for_job(secured, "submitter", job_id)
    assert job["status"] == "succeeded"
    np.testing.assert_allclose(job["response"]["outputs"][0]["data"],
                               case("mlp", "batch1")["response"]["outputs"][0]["data"], rtol=1e-5, atol=1e-6)
    ca = str(server.ca)

    def jobs_of(who):
        listed = requests.get(f"{server.http_base()}/v2/jobs", headers=secured.headers(who), verify=ca, timeout=10)
        assert listed.status_code == 200
        return {entry["id"] for entry in listed.json()["jobs"]}

    # Another credential with the same scopes neither sees, reads nor cancels it: to it the job does not exist.
    mine = _submit(secured, "neighbour", data).json()["id"]
    assert job_id not in jobs_of("neighbour") and mine in jobs_of("neighbour")
    for method in ("GET", "DELETE"):
        response = requests.request(method, f"{server.http_base()}/v2/jobs/{job_id}", headers=secured.headers("neighbour"),
                                    verify=ca, timeout=10)
        assert response.status_code == 404, response.text
    assert jobs_of("submitter") >= {job_id} and mine not in jobs_of("submitter")
    # jobs-admin sees everyone's.
    assert {job_id, mine} <= jobs_of("admin")
    assert requests.get(f"{server.http_base()}/v2/jobs/{job_id}", headers=secured.headers("admin"), verify=ca,
                        timeout=10).status_code == 200
    # An async request needs the jobs scope as well as infer.
    refused = _submit(secured, "runner", data)
    assert refused.status_code == 403 and "lacks the 'jobs' scope" in refused.json()["error"]


def test_idempotency_key_returns_the_first_job(secured):
    data = case("mlp", "batch1")["request"]["inputs"][0]["data"]
    key = f"retry-{time.monotonic_ns()}"
    first = _submit(secured, "submitter", data, key)
    assert first.status_code == 202 and "Idempotent-Replayed" not in first.headers
    again = _submit(secured, "submitter", data, key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"] and again.headers["Location"] == first.headers["Location"]
    changed = _submit(secured, "submitter", [x + 1 for x in data], key)
    assert changed.status_code == 409 and "used for a different request" in changed.json()["error"]
    # Keys are per credential: another one using the same key gets its own job.
    other = _submit(secured, "neighbour", data, key)
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]
    for bad in ("x" * 256, "with space", "caf\u00e9"):
        response = _submit(secured, "submitter", data, bad.encode().decode("latin-1"))
        assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]


def test_concurrent_retries_with_one_key_make_one_job(secured):
    data = case("mlp", "batch1")["request"]["inputs"][0]["data"]
    key = f"race-{time.monotonic_ns()}"
    results = []
    threads = [threading.Thread(target=lambda: results.append(_submit(secured, "submitter", data, key))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [202] * 8
    assert len({r.json()["id"] for r in results}) == 1
    assert sum(1 for r in results if "Idempotent-Replayed" not in r.headers) == 1


def test_a_job_store_from_before_owners_is_migrated(tmp_path_factory):
    import sqlite3
    root = tmp_path_factory.mktemp("security-migration")
    store = root / "jobs.sqlite"
    with sqlite3.connect(store) as db:
        # The schema of the previous release, with one finished job.
        db.execute("""CREATE TABLE jobs (id TEXT PRIMARY KEY, model TEXT NOT NULL, version TEXT, status TEXT NOT NULL,
            created REAL NOT NULL, started REAL, finished REAL, not_before REAL, attempts INTEGER NOT NULL DEFAULT 0,
            request BLOB, response BLOB, response_in_file INTEGER NOT NULL DEFAULT 0, error_code TEXT, error_message TEXT,
            webhook TEXT, webhook_status TEXT, webhook_attempts INTEGER NOT NULL DEFAULT 0, webhook_error TEXT)""")
        db.execute("INSERT INTO jobs (id, model, status, created, finished, error_code, error_message) "
                   "VALUES ('old-job', 'mlp', 'failed', ?, ?, 'internal', 'from before')", (time.time(), time.time()))
    ferry = str(ferry_bin())
    admin_key, admin_line = new_key(ferry, "admin", "jobs,jobs-admin")
    user_key, user_line = new_key(ferry, "user", "infer,jobs")
    (root / "keys").write_text(admin_line + "\n" + user_line + "\n")
    server = start_server(_repository(root), root / "ferry.log",
                          ["--api-keys", str(root / "keys"), "--job-store", str(store)], ["mlp"])
    try:
        base = server.http_base()
        listed = requests.get(f"{base}/v2/jobs", headers={"Authorization": f"Bearer {admin_key}"}, timeout=10).json()
        assert [job["id"] for job in listed["jobs"]] == ["old-job"]
        assert "owner" not in listed["jobs"][0]
        # A job from before authentication belongs to no credential.
        assert requests.get(f"{base}/v2/jobs/old-job", headers={"Authorization": f"Bearer {user_key}"},
                            timeout=10).status_code == 404
    finally:
        stop_server(server)


# ---------------------------------------------------------------------------
# The access log
# ---------------------------------------------------------------------------


def _access_lines(secured, request_id: str) -> list[dict]:
    lines = []
    for line in secured.directory.joinpath("ferry.log").read_text(errors="replace").splitlines():
        if '"ferry.access"' in line and request_id in line:
            lines.append(json.loads(line))
    return lines


def test_access_log_line_per_request_with_its_id(secured):
    server = secured.server
    request_id = f"client-{time.monotonic_ns()}"
    response = requests.get(f"{server.http_base()}/v2/models/mlp",
                            headers={**secured.headers("runner"), "X-Request-ID": request_id},
                            verify=str(server.ca), timeout=10)
    assert response.status_code == 200 and response.headers["X-Request-ID"] == request_id
    refused = requests.get(f"{server.http_base()}/v2/models/mlp", headers={"X-Request-ID": request_id + "-refused"},
                           verify=str(server.ca), timeout=10)
    assert refused.status_code == 401 and refused.headers["X-Request-ID"] == request_id + "-refused"
    # An id that could break a log line or a header is replaced by a fresh one.
    replaced = requests.get(f"{server.http_base()}/v2/health/live", headers={"X-Request-ID": "a b\"c"},
                            verify=str(server.ca), timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["X-Request-ID"])

    request = case("mlp", "batch1")["request"]["inputs"][0]
    infer = grpcclient.service_pb2.ModelInferRequest(model_name="mlp", model_version="1")
    infer.inputs.add(name="input", datatype="FP32", shape=request["shape"])
    infer.raw_input_contents.append(np.array(request["data"], dtype=np.float32).tobytes())
    credentials = grpc.ssl_channel_credentials(root_certificates=server.ca.read_bytes())
    with grpc.secure_channel(server.grpc_url, credentials) as channel:
        call = channel.unary_unary(f"/{GRPC_INFERENCE}/ModelInfer", request_serializer=None, response_deserializer=None)
        _, outcome = call.with_call(infer.SerializeToString(), timeout=10, metadata=[
            ("authorization", f"Bearer {secured.keys['runner']}"), ("x-request-id", request_id + "-grpc")])
        assert dict(outcome.initial_metadata())["x-request-id"] == request_id + "-grpc"

    deadline = time.monotonic() + 5
    while len(_access_lines(secured, request_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = {line["request_id"]: line for line in _access_lines(secured, request_id)}
    http = lines[request_id]
    assert http["route"] == "/v2/models/{model}" and http["model"] == "mlp" and http["status"] == "200"
    assert http["credential"] == "runner" and http["method"] == "GET" and int(http["bytes_out"]) == len(response.content)
    assert float(http["duration_ms"]) >= 0 and http["client"] == "127.0.0.1"
    denied = lines[request_id + "-refused"]
    assert denied["status"] == "401" and "credential" not in denied
    rpc = lines[request_id + "-grpc"]
    assert rpc["route"] == f"/{GRPC_INFERENCE}/ModelInfer" and rpc["transport"] == "gRPC"
    assert rpc["model"] == "mlp" and rpc["version"] == "1" and rpc["status"] == "0" and rpc["credential"] == "runner"
    assert int(rpc["bytes_in"]) > 64 * 4 and int(rpc["bytes_out"]) > 16 * 4


def test_key_set_reloaded_when_the_issuer_rotates_keys(secured):
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm
    server, issuer = secured.server, secured.issuer
    new_key = ec.generate_private_key(ec.SECP256R1())
    token = issuer.jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "rotated", "scope": "metadata", "exp": time.time() + 300},
                              new_key, algorithm="ES256", headers={"kid": "key-next"})
    url = f"{server.http_base()}/v2"
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(url, headers=headers, verify=str(server.ca), timeout=10).status_code == 401
    key_set = issuer.key_set()
    jwk = json.loads(ECAlgorithm.to_jwk(new_key.public_key()))
    jwk.update({"kid": "key-next", "alg": "ES256", "use": "sig"})
    key_set["keys"].append(jwk)
    staged = secured.directory / "jwks.json.new"
    staged.write_text(json.dumps(key_set))
    staged.rename(secured.directory / "jwks.json")
    deadline = time.monotonic() + 10
    while requests.get(url, headers=headers, verify=str(server.ca), timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the new key was not picked up"
        time.sleep(0.2)


# ---------------------------------------------------------------------------
# Ferry's own client
# ---------------------------------------------------------------------------


def test_ferry_client_commands_over_tls_with_a_token(secured, tmp_path):
    server = secured.server
    ferry = str(ferry_bin())
    request = tmp_path / "request.json"
    request.write_text(json.dumps(case("mlp", "batch1")["request"]))
    expected = case("mlp", "batch1")["response"]["outputs"][0]["data"]
    for url in (f"https://localhost:{server.http_port}", f"grpcs://localhost:{server.grpc_port}"):
        run = subprocess.run([ferry, "infer", url, "--model", "mlp", "--data", str(request), "--ca-cert", str(server.ca),
                              "--token", secured.keys["runner"]], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        np.testing.assert_allclose(json.loads(run.stdout)["outputs"][0]["data"], expected, rtol=1e-5, atol=1e-6)
        # The token from the environment; a missing one is refused with the server's reason.
        run = subprocess.run([ferry, "infer", url, "--model", "mlp", "--data", str(request), "--ca-cert", str(server.ca)],
                             capture_output=True, text=True, timeout=60, env={"FERRY_TOKEN": secured.keys["reader"]})
        assert run.returncode == 1 and "lacks the 'infer' scope" in run.stderr, run.stderr
        health = subprocess.run([ferry, "health", url, "--ca-cert", str(server.ca)], capture_output=True, text=True, timeout=60)
        assert health.returncode == 0, health.stderr
    # Without the CA the server's certificate does not verify; --insecure skips the check.
    health = subprocess.run([ferry, "health", f"https://127.0.0.1:{server.http_port}", "--timeout", "3"],
                            capture_output=True, text=True, timeout=60)
    assert health.returncode == 1
    health = subprocess.run([ferry, "health", f"https://127.0.0.1:{server.http_port}", "--insecure"], capture_output=True,
                            text=True, timeout=60)
    assert health.returncode == 0, health.stderr


def test_environment_variables_configure_security(tmp_path_factory):
    """What `ferry deploy --tls-secret/--api-key-secret` relies on: the FERRY_* variables alone turn TLS and keys on."""
    root = tmp_path_factory.mktemp("security-environment")
    make_ca(root, "ca")
    cert, key = make_cert(root, "ca", "server")
    api_key, line = new_key(str(ferry_bin()), "env-user", "metadata")
    (root / "api-keys").write_text(line + "\n")
    server = start_server(_repository(root), root / "ferry.log", [], ["mlp"], ca=root / "ca.pem",
                          env={"FERRY_TLS_CERT": str(cert), "FERRY_TLS_KEY": str(key), "FERRY_API_KEYS": str(root / "api-keys")})
    try:
        url = f"{server.http_base()}/v2/models/mlp"
        assert requests.get(url, verify=str(server.ca), timeout=10).status_code == 401
        assert requests.get(url, verify=str(server.ca), headers={"Authorization": f"Bearer {api_key}"}, timeout=10).status_code == 200
    finally:
        stop_server(server)
