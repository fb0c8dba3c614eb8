"""``report --email-to`` against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from driftaudit.change.rangediff import RunRecord
from tests.support.gitsnap import (
    ACCOUNT,
    REGION,
    commit_all,
    git,
    init_repo,
    rule,
    run,
    security_group,
    volume,
    write,
)
from tests.support.motoserver import free_port

XSS = "<script>alert(1)</script>"
SECRET = "s3cr3t-Pa55word-never-printed"
SUBJECT = "driftaudit: 2 change(s), highest critical (1 critical, 1 info)"
Capsys = pytest.CaptureFixture[str]
# Plain-text AUTH, on loopback only: aiosmtpd rightly warns about it anywhere else.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def days_ago(n: int) -> str:
    return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=n)).isoformat()


@pytest.fixture(autouse=True)
def _no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DRIFTAUDIT_SMTP_PASSWORD", raising=False)


@pytest.fixture(scope="module")
def snaps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("mail")
    repo = init_repo(root / "repo")
    snaps = repo / "snaps"
    write(snaps, "security_groups", [security_group("sg-0a", "internal")])
    write(snaps, "volumes", [volume("vol-1")])
    # Yesterday and the day before: a daily job that ran when expected (a mail about
    # snapshots days old says the job did not run: tests/test_noise.py).
    commit_all(repo, "one", days_ago(2))
    ssh = rule("ingress", "tcp", "0.0.0.0/0", (22, 22))
    write(snaps, "security_groups", [security_group("sg-0a", "internal", [ssh])])
    write(snaps, "volumes", [volume("vol-1", tags={"Owner": XSS})])
    commit_all(repo, "two", days_ago(1))
    yield snaps


@dataclass
class Handler:
    """Keeps what it receives; answers DATA (or RCPT) with ``data_reply`` if set."""

    data_reply: str | None = None
    rcpt_reply: str | None = None
    received: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
        return "250 Message accepted"


@contextlib.contextmanager
def smtp_server(handler: Handler, **kwargs: Any) -> Iterator[int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def report(capsys: Capsys, snaps: Path, port: int, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "report",
        "-C",
        str(snaps),
        "--email-to",
        "secops@example.com",
        "--email-to",
        "oncall@example.com",
        "--email-from",
        "driftaudit@example.com",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        *extra,
    )


def test_mail_is_text_and_html_with_counts_in_the_subject(
    snaps: Path, capsys: Capsys, tmp_path: Path
) -> None:
    handler = Handler()
    with smtp_server(handler) as port:
        code, out, err = report(capsys, snaps, port)
    assert (code, out) == (0, "")
    assert "mailed" in err
    [(sender, recipients, msg)] = handler.received
    assert sender == "driftaudit@example.com"
    assert recipients == ["secops@example.com", "oncall@example.com"]
    assert msg["Subject"] == SUBJECT
    assert msg["To"] == "secops@example.com, oncall@example.com"
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = (p.get_content() for p in parts)
    assert text.startswith(SUBJECT) and "+ ingress tcp/22 from 0.0.0.0/0" in text
    assert XSS in text
    assert "<table" in html and "&lt;script&gt;" in html and "<script" not in html.lower()


def test_output_file_and_mail_together(snaps: Path, capsys: Capsys, tmp_path: Path) -> None:
    handler = Handler()
    out_file = tmp_path / "report.md"
    with smtp_server(handler) as port:
        code, _, _ = report(capsys, snaps, port, "--format", "markdown", "-o", str(out_file))
    assert code == 0
    assert out_file.read_text().startswith(f"### {SUBJECT}")
    assert len(handler.received) == 1


def test_no_mail_when_nothing_changed_unless_always(snaps: Path, capsys: Capsys) -> None:
    # HEAD~1 HEAD of a quiet day: the run is recorded (an empty commit), nothing changed.
    quiet = RunRecord(
        (ACCOUNT,), (REGION,), ("security_groups", "volumes"), 2, 0, 2, "snaps"
    ).trailer()
    git(
        snaps.parent,
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        f"driftaudit snapshot: no changes\n\n{quiet}",
    )
    try:
        handler = Handler()
        with smtp_server(handler) as port:
            code, _, err = report(capsys, snaps, port, "HEAD~1", "HEAD")
            assert (code, handler.received) == (0, [])
            assert "no mail sent" in err
            code, _, _ = report(capsys, snaps, port, "HEAD~1", "HEAD", "--always")
        assert code == 0
        [(_, _, msg)] = handler.received
        assert msg["Subject"] == "driftaudit: no changes"
    finally:
        git(snaps.parent, "reset", "-q", "--hard", "HEAD~1")


def test_server_refusing_the_message_is_a_clear_error(snaps: Path, capsys: Capsys) -> None:
    handler = Handler(data_reply="550 5.7.1 Message rejected by policy")
    with smtp_server(handler) as port:
        code, _, err = report(capsys, snaps, port)
    assert code == 1
    assert f"SMTP 127.0.0.1:{port} refused the message: 550" in err
    assert "rejected by policy" in err and "Traceback" not in err


def test_server_refusing_every_recipient_is_a_clear_error(snaps: Path, capsys: Capsys) -> None:
    handler = Handler(rcpt_reply="550 5.1.1 No such user")
    with smtp_server(handler) as port:
        code, _, err = report(capsys, snaps, port)
    assert code == 1
    assert "refused every recipient" in err and "secops@example.com" in err


class Seen(list[tuple[str, str, str]]):
    """(mechanism, login, password) of every AUTH attempt."""


def authenticator(seen: Seen) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        seen.append((mechanism, login, password))
        # handled=False: the server itself answers a failure with 535.
        return AuthResult(success=(login, password) == ("driftaudit", SECRET), handled=False)

    return check


def auth_server(handler: Handler, seen: Seen) -> Any:
    return smtp_server(
        handler,
        authenticator=authenticator(seen),
        auth_required=True,
        auth_require_tls=False,
    )


def test_auth_with_password_from_environment_never_printed(
    snaps: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTAUDIT_SMTP_PASSWORD", SECRET)
    handler, seen = Handler(), Seen()
    with auth_server(handler, seen) as port:
        code, out, err = report(capsys, snaps, port, "--smtp-user", "driftaudit")
    assert code == 0, err
    assert [(login, password) for _, login, password in seen] == [("driftaudit", SECRET)]
    assert len(handler.received) == 1
    assert SECRET not in out + err


def test_auth_with_password_file(snaps: Path, capsys: Capsys, tmp_path: Path) -> None:
    secret_file = tmp_path / "password"
    secret_file.write_text(SECRET + "\n")
    handler, seen = Handler(), Seen()
    with auth_server(handler, seen) as port:
        code, out, err = report(
            capsys,
            snaps,
            port,
            "--smtp-user",
            "driftaudit",
            "--smtp-password-file",
            str(secret_file),
        )
    assert code == 0, err
    assert len(handler.received) == 1 and SECRET not in out + err


def test_auth_refused_is_an_error_that_does_not_print_the_password(
    snaps: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = SECRET + "-wrong"
    monkeypatch.setenv("DRIFTAUDIT_SMTP_PASSWORD", wrong)
    handler, seen = Handler(), Seen()
    with auth_server(handler, seen) as port:
        code, out, err = report(capsys, snaps, port, "--smtp-user", "driftaudit")
    assert code == 1
    assert f"SMTP 127.0.0.1:{port} refused the login of 'driftaudit': 535" in err
    assert wrong not in out + err and SECRET not in out + err
    assert handler.received == []


def test_user_without_password_is_an_error(snaps: Path, capsys: Capsys) -> None:
    handler, seen = Handler(), Seen()
    with auth_server(handler, seen) as port:
        code, _, err = report(capsys, snaps, port, "--smtp-user", "driftaudit")
    assert code == 1
    assert "DRIFTAUDIT_SMTP_PASSWORD" in err
    assert (seen, handler.received) == ([], [])


def test_password_is_not_an_argument(snaps: Path, capsys: Capsys) -> None:
    code, _, err = run(capsys, "report", "-C", str(snaps), "--smtp-password", SECRET)
    assert code == 1
    assert "No such option '--smtp-password'" in err and SECRET not in err


def test_unreachable_server_is_a_clear_error(snaps: Path, capsys: Capsys) -> None:
    port = free_port()  # nothing listens there
    code, _, err = report(capsys, snaps, port)
    assert code == 1
    assert f"cannot reach SMTP server 127.0.0.1:{port}" in err
    assert "Traceback" not in err
