"""Fixtures for the deploy suite: the ferry binary and a runner for `ferry deploy`."""
import os
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ferry() -> str:
    binary = os.environ.get("FERRY_BIN")
    if not binary:
        pytest.fail("FERRY_BIN must name the built ferry executable (make test sets it)")
    return binary


@pytest.fixture(scope="session")
def deploy(ferry):
    """`ferry deploy ARGS --output -`, parsed into its YAML documents."""

    def run(*args: str, check: bool = True, cwd: Path = ROOT) -> list:
        result = subprocess.run([ferry, "deploy", *args, "--output", "-"], capture_output=True, text=True, cwd=cwd, timeout=60)
        if check:
            assert result.returncode == 0, result.stderr
            return [document for document in yaml.safe_load_all(result.stdout) if document is not None]
        return result

    return run
