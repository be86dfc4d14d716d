"""Fixtures for Ferry's protocol conformance suite.

`server` (session): one `ferry serve` over a temporary Triton-layout model
repository built from the test fixtures (mlp, identity_*, strings, multi_io,
classifier_no_zipmap), the digits example (with its config.pbtxt) and a model
`broken` whose model.onnx is truncated, started with
`--model-control-mode explicit --load-model '*'`.

`limited_server` (session, started on first use): a second server over a
repository holding only mlp, with `--max-request-bytes 1024`.

`healthy_server` (session, started on first use): mlp alone, default settings,
so the server as a whole is ready.

`docs_server` (session, started on first use): digits, mlp, strings and
multi_io in explicit mode, for the OpenAPI and docs page tests.

Both are stopped with SIGTERM at the end of the session and must exit 0
within 30 s. Every test that needs a server is skipped when the ferry binary
(FERRY_BIN, default <repo>/.build/release/ferry) does not exist.
"""

from __future__ import annotations

import pytest

from conformance_support import (
    GOOD_MODELS,
    LIMITED_REQUEST_BYTES,
    PROTOCOLS,
    SERVER_STOP_TIMEOUT_S,
    FerryServer,
    add_model,
    build_main_repository,
    EXAMPLES,
    FIXTURES,
    ferry_missing_reason,
    start_server,
    stop_server,
)


def _serve(tmp_path_factory, name: str, build_repo, extra_args, ready_models):
    reason = ferry_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp(name)
    repo = build_repo(root / "models")
    server = start_server(repo, root / "ferry.log", extra_args, ready_models)
    return server


def _shutdown(server: FerryServer) -> None:
    status = stop_server(server)
    assert status is not None, (
        f"ferry did not exit within {SERVER_STOP_TIMEOUT_S:.0f} s of SIGTERM (killed).\n"
        f"--- server log ---\n{server.log_tail()}"
    )
    assert status == 0, (
        f"ferry exited with status {status} after SIGTERM (expected 0).\n"
        f"--- server log ---\n{server.log_tail()}"
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> FerryServer:
    running = _serve(
        tmp_path_factory,
        "ferry-main",
        build_main_repository,
        # The fixtures' reference cases include batch 64; Ferry's default (like
        # Triton's) auto-completes max_batch_size 4.
        ["--model-control-mode", "explicit", "--load-model", "*", "--default-max-batch-size", "64"],
        GOOD_MODELS,
    )
    yield running
    _shutdown(running)


def _build_limited_repository(repo):
    repo.mkdir(parents=True, exist_ok=True)
    add_model(repo, "mlp", FIXTURES / "mlp.onnx")
    return repo


@pytest.fixture(scope="session")
def limited_server(tmp_path_factory) -> FerryServer:
    running = _serve(
        tmp_path_factory,
        "ferry-limited",
        _build_limited_repository,
        [
            "--model-control-mode", "none",
            "--default-max-batch-size", "64",
            "--max-request-bytes", str(LIMITED_REQUEST_BYTES),
        ],
        ["mlp"],
    )
    yield running
    _shutdown(running)


@pytest.fixture(scope="session")
def healthy_server(tmp_path_factory) -> FerryServer:
    """A server over mlp alone with default settings: unlike the main server
    (whose `broken` model keeps /v2/health/ready false), it is ready."""
    running = _serve(tmp_path_factory, "ferry-healthy", _build_limited_repository, [], ["mlp"])
    yield running
    _shutdown(running)


def _build_docs_repository(repo):
    repo.mkdir(parents=True, exist_ok=True)
    digits = EXAMPLES / "models" / "digits"
    add_model(repo, "digits", digits / "1" / "model.onnx", digits / "config.pbtxt")
    for name in ("mlp", "strings", "multi_io"):
        add_model(repo, name, FIXTURES / f"{name}.onnx")
    return repo


@pytest.fixture(scope="session")
def docs_server(tmp_path_factory) -> FerryServer:
    """digits, mlp, strings and multi_io in explicit model control mode: the
    server the OpenAPI fuzzing and the browser test of the docs page use."""
    running = _serve(
        tmp_path_factory, "ferry-docs", _build_docs_repository,
        ["--model-control-mode", "explicit", "--load-model", "*"], ["digits", "mlp", "strings", "multi_io"],
    )
    yield running
    _shutdown(running)


@pytest.fixture(params=PROTOCOLS)
def protocol(request) -> str:
    return request.param


@pytest.fixture
def client(server, protocol):
    """A fresh official client (http or grpc) connected to the main server."""
    c = server.client(protocol)
    yield c
    c.close()
