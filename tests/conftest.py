"""Shared test set-up. Every test runs with fake credentials and no way to reach real AWS
(no profile files, instance metadata disabled, a default region set) and in a git sandbox
(no user or system git configuration, no repository above its temporary directory). A test
that needs the moto server child process is end-to-end: marked ``e2e`` here."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.support.gitsnap import GitSandbox
from tests.support.motoserver import MotoServer, start_moto_server

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/driftaudit-tests/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/driftaudit-tests/credentials",
}


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # One rule instead of a marker each test could forget: the moto server is a child
    # process (and its first start costs seconds), so whatever uses it is end-to-end.
    for item in items:
        if "moto_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def _git_sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitSandbox]:
    """The sandbox for the whole session, so module- and session-scoped fixtures that
    commit get it too; each test then gets a global configuration file of its own."""
    home = tmp_path_factory.mktemp("git-sandbox")
    (home / "gitconfig").touch()
    sandbox = GitSandbox(home / "gitconfig", tmp_path_factory.getbasetemp())
    with pytest.MonkeyPatch.context() as mp:
        sandbox.apply(mp)
        yield sandbox


@pytest.fixture(autouse=True)
def git_sandbox(_git_sandbox_session: GitSandbox, monkeypatch: pytest.MonkeyPatch) -> GitSandbox:
    """This test's git environment (already in ``os.environ``): a test that writes
    ``git config --global`` cannot leak it into the next one."""
    fd, name = tempfile.mkstemp(prefix="gitconfig-", dir=_git_sandbox_session.global_config.parent)
    os.close(fd)
    sandbox = replace(_git_sandbox_session, global_config=Path(name))
    sandbox.apply(monkeypatch)
    return sandbox


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server (a child process on a free loopback port) for the whole session."""
    log_dir: Path = tmp_path_factory.mktemp("moto-server")
    with start_moto_server(log_dir=log_dir) as server:
        yield server


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """The shared moto server, emptied before the test (POST /moto-api/reset)."""
    moto_server.reset()
    return moto_server
