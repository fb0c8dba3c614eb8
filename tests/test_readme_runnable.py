"""README, tried as a newcomer would: every shell block marked ``<!-- runnable -->`` runs,
in README order, in one bash session (a ``cd`` carries over, as in a terminal), with HOME in
a temporary directory, ``driftaudit`` on PATH as the console script, and AWS_ENDPOINT_URL
set to the moto server so that plain ``driftaudit snapshot ...`` reaches it. Each command
must exit 0, or N when its comment ends with ``(exits N)``.

The only changes to the text: the install steps (``python3 -m venv``, ``. .venv/bin/activate``,
``pip install``) become no-ops, because the test runs this checkout. README's first
runnable block is the demo quick start, so the same run checks what the demo prints and
writes, and that the commands it lists work when copied."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from driftaudit.collect.aws import ClientPool
from driftaudit.demo import MARKER, prepare
from driftaudit.errors import ConfigError
from driftaudit.schemas import errors
from tests.conftest import FAKE_ENV
from tests.support.gitsnap import git, run
from tests.support.motoserver import MotoServer

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"<!-- runnable -->\n```sh\n(.*?)```", re.S)
EXITS = re.compile(r"\(exits (\d+)\)\s*$")
INSTALL = (
    (re.compile(r"python3 -m venv \S+"), ":"),
    (re.compile(r"\. \.venv/bin/activate"), ":"),
    (re.compile(r"pip install[^&;|]*"), ": "),
)
STORY_IP = "10.191.12.13"
Capsys = pytest.CaptureFixture[str]


@dataclass
class Step:
    line: str  # as README writes it
    command: str  # what bash runs
    exits: int


def readme_steps() -> list[Step]:
    steps = []
    for block in BLOCK.findall(README):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            command = line
            for pattern, replacement in INSTALL:
                command = pattern.sub(replacement, command)
            found = EXITS.search(line)
            steps.append(Step(line, command, int(found.group(1)) if found else 0))
    return steps


def test_readme_has_the_runnable_blocks_it_promises() -> None:
    lines = [s.line for s in readme_steps()]
    assert lines[0].endswith("driftaudit demo ~/driftaudit-demo")
    for needed in (
        "driftaudit snapshot us-east-1 eu-west-1 -o snapshots --commit",
        "driftaudit check -C snapshots",
        "driftaudit history exposure 10.191.12.13 -C snapshots",
        "driftaudit validate",
    ):
        assert any(line.startswith(needed) for line in lines), needed


@dataclass
class Session:
    home: Path
    steps: list[tuple[Step, int, str]]  # step, exit code, its stdout

    @property
    def demo(self) -> Path:
        return self.home / "driftaudit-demo"

    def output(self, prefix: str) -> str:
        return next(out for step, _, out in self.steps if step.line.startswith(prefix))


def bash_session(steps: list[Step], home: Path, env: dict[str, str]) -> list[tuple[int, str]]:
    """Run the steps in one bash; returns each one's (exit code, stdout)."""
    script = [f"cd {shlex.quote(str(home))}"]
    for n, step in enumerate(steps):
        script += [step.command, f"printf '\\n@@step %d exit %d@@\\n' {n} $?"]
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    parts = re.split(r"\n@@step (\d+) exit (\d+)@@\n", proc.stdout)
    results = [(int(parts[i + 2]), parts[i]) for i in range(0, len(parts) - 1, 3)]
    assert len(results) == len(steps), proc.stdout[-2000:] + proc.stderr[-2000:]
    return results


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, moto_server: MotoServer) -> Session:
    moto_server.reset()
    root = tmp_path_factory.mktemp("readme")
    home = root / "home"
    home.mkdir()
    bin_dir = root / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "driftaudit"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m driftaudit "$@"\n')
    shim.chmod(0o755)
    # Module scope: set up before the autouse fake_aws_env, so its values are set here.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **FAKE_ENV,
        "HOME": str(home),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "AWS_ENDPOINT_URL": moto_server.url,
    }
    steps = readme_steps()
    results = bash_session(steps, home, env)
    return Session(home, [(s, code, out) for s, (code, out) in zip(steps, results, strict=True)])


def test_every_runnable_command_exits_as_documented(session: Session) -> None:
    failed = [
        f"{step.line!r}: exit {code}, README says {step.exits}\n{out[-1500:]}"
        for step, code, out in session.steps
        if code != step.exits
    ]
    assert not failed, "\n".join(failed)


def test_readme_questions_on_the_demo_get_the_story_answers(session: Session) -> None:
    seven_days_ago = session.output("driftaudit history ip 10.191.12.13 --at")
    assert re.search(
        rf"^{STORY_IP}  instance i-\w+ \(debug-1\)  primary private {STORY_IP}",
        seven_days_ago,
        re.M,
    )
    rules = session.output("driftaudit history rule --source 10.191.12.13 -C ~/driftaudit-demo")
    assert "ingress tcp/22 from 10.191.12.13/32" in rules
    assert "tcp/22 from 0.0.0.0/0" in rules  # the world-open rule, with its short window
    assert '+ tag backup = "daily"' in session.output("driftaudit diff -C ~/driftaudit-demo")
    assert (session.home / "driftaudit-demo" / "period.html").is_file()


def test_boto3_sends_every_service_to_aws_endpoint_url(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the runnable test relies on: without --endpoint-url, AWS_ENDPOINT_URL reaches
    every service driftaudit calls."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
    pool = ClientPool()
    account = pool.open_accounts(None, ())[0]
    assert account.account_id == "123456789012"  # answered by the moto server
    for service in ("ec2", "elbv2", "elb", "autoscaling", "sts"):
        assert pool.client(account, service, "eu-west-1").meta.endpoint_url == moto.url


# --- the demo, as README's quick start ran it ---------------------------------------------------


def test_demo_prints_the_story_commands_in_order_with_their_answers(session: Session) -> None:
    out = session.output("python3 -m venv")
    demo = str(session.demo)
    ran = [line[2:] for line in out.splitlines() if line.startswith("$ driftaudit ")]
    assert [shlex.split(r)[1:3] for r in ran] == [
        ["diff", "-C"],
        ["check", "-C"],
        ["history", "ip"],
        ["history", "rule"],
        ["history", "exposure"],
        ["report", "-C"],
    ]
    assert ran[0] == f"driftaudit diff -C {demo} --since '1 day ago'"
    assert ran[1] == f"driftaudit check -C {demo} --baseline {demo}/baselines/demo.yaml"
    # The answers: who held the address, the lingering rule, the exposure, the drift.
    assert re.search(
        rf"{STORY_IP}  instance i-\w+ \(debug-1\)  primary private {STORY_IP} via eni-\w+", out
    )
    assert "ingress tcp/22 from 10.191.12.13/32 [sgr-" in out and '"for debugging"' in out
    assert f"{STORY_IP} port 22: allowed in by a rule while held by none of our resources" in out
    assert 'policy ssh-from-office-only: ingress tcp/22 from 10.191.12.13/32 "for debugging"' in out
    # The seed story as a check finding: debug-1 is gone, its /32 rule lingers, since day 7.
    assert re.search(
        r'policy no-leftover-hosts: ingress tcp/22 from 10\.191\.12\.13/32 "for debugging" '
        r"\(10\.191\.12\.13 held by none of our resources in vpc-\w+ or a VPC connected to it, "
        r"unheld since between \S+Z and \S+Z\)",
        out,
    )
    assert "drift: 1 changed, 0 missing, 0 unmanaged, 3 policy violations" in out
    for n in range(1, 11):
        assert re.search(rf"^day {n:2}  \d{{4}}-\d\d-\d\d  ", out, re.M)


def test_demo_writes_reports_with_pictures(session: Session) -> None:
    report = (session.demo / "report.html").read_text(encoding="utf-8")
    assert report.count("<svg") == 1 and "Changes per day by severity" in report
    history = (session.demo / "history.html").read_text(encoding="utf-8")
    assert history.count("<svg") == 3
    assert f"driftaudit history exposure {STORY_IP} --port 22" in history
    assert (session.demo / "baselines" / "demo.yaml").read_bytes() == (
        REPO / "baselines" / "demo.yaml"
    ).read_bytes()


def commit_times(directory: Path) -> list[str]:
    times = git(directory, "log", "--reverse", "--format=%cd", "--date=unix").split()
    from driftaudit.times import iso

    return [iso(int(t)) for t in times]


def test_demo_history_answers(session: Session, capsys: Capsys) -> None:
    times = commit_times(session.demo)
    assert len(times) == 10
    code, out, _ = run(
        capsys, "history", "ip", STORY_IP, "-C", str(session.demo), "--format", "json"
    )
    assert code == 0
    result = json.loads(out)
    assert errors("history", result) == []
    holders = {h["type"]: h for h in result["holders"]}
    assert set(holders) == {"instances", "network_interfaces"}
    for holder in holders.values():
        # Launched on day 3, terminated on day 7.
        assert (holder["start"]["last_without"], holder["start"]["first_with"]) == tuple(times[1:3])
        assert (holder["end"]["last_with"], holder["end"]["first_without"]) == tuple(times[5:7])
    assert holders["instances"]["via"] == holders["network_interfaces"]["id"]

    code, out, _ = run(
        capsys,
        "history",
        "exposure",
        STORY_IP,
        "--port",
        "22",
        "-C",
        str(session.demo),
        "--format",
        "json",
    )
    windows = json.loads(out)["windows"]
    assert code == 0 and len(windows) == 1
    assert windows[0]["start"]["first_with"] == times[6]
    assert windows[0]["end"]["first_without"] is None  # the rule still lets it in
    assert [r["rule"]["Source"] for r in windows[0]["rules"]] == ["10.191.12.13/32"]
    # The rule was added on day 4.
    assert windows[0]["rules"][0]["start"]["first_with"] == times[3]


def test_demo_counts_per_day_match_its_commits(session: Session, capsys: Capsys) -> None:
    first = git(session.demo, "rev-list", "--max-parents=0", "HEAD").strip()
    code, out, _ = run(capsys, "report", "-C", str(session.demo), first, "HEAD", "--format", "json")
    assert code == 0
    days = json.loads(out)["days"]
    # Each commit message counts its own changes (computed when it was committed).
    subjects = git(session.demo, "log", "--reverse", "--format=%s").splitlines()[1:]
    counted = [int((re.findall(r"(\d+) change", s) or [0])[0]) for s in subjects]
    assert [d["total"] for d in days] == counted
    assert days[3]["by_severity"] == {"critical": 1, "info": 1}  # day 5: SSH open to the world
    # Day 9 is quiet: a run recorded in an empty commit, no change; every day had a run.
    assert subjects[7] == "driftaudit snapshot: no changes" and days[7]["total"] == 0
    assert [d["runs"] for d in days] == [1] * 9
    assert json.loads(out)["days_without_run"] == []
    assert git(session.demo, "diff", "--name-only", "HEAD~2", "HEAD~1") == ""
    assert "(run recorded: a quiet day, not a gap)" in session.output("python3 -m venv")


def test_the_commands_the_demo_lists_work_when_copied(session: Session, capsys: Capsys) -> None:
    out = session.output("python3 -m venv")
    listed = out.split("to repeat each step by hand:\n", 1)[1].splitlines()
    commands = [line.strip() for line in listed if line.startswith("  driftaudit ")]
    assert len(commands) == 9
    report = session.demo / "report.html"
    before = report.read_bytes()
    for command in commands[:6]:
        argv = shlex.split(command)
        code, stdout, _ = run(capsys, *argv[1:])
        # The same output as the demo showed under "$ command".
        rest = out.split(f"$ {command}\n", 1)[1]
        shown = re.search(r"^\(exit (\d+)\)$", rest, re.M)
        assert shown is not None
        assert stdout == rest[: shown.start()], command
        assert code == int(shown.group(1)), command
    assert report.read_bytes() == before
    for command in commands[6:]:
        argv = shlex.split(command)
        code, _, _ = run(capsys, *argv[1:])
        page = Path(argv[-1]).read_text(encoding="utf-8")
        assert code == 0 and page.count("<svg") == 1
        # The same page twice: nothing in it depends on the clock or the index's updates.
        run(capsys, *argv[1:])
        assert Path(argv[-1]).read_text(encoding="utf-8") == page


def test_demo_refuses_a_directory_with_something_in_it(
    session: Session, capsys: Capsys, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "demo", str(session.demo))
    assert code == 1 and "already holds a demo" in err and "--force" in err
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine\n")
    code, _, err = run(capsys, "demo", str(other), "--force")
    assert code == 1 and "holds no demo" in err
    assert (other / "keep.txt").read_text() == "mine\n"
    copy = tmp_path / "copy"
    shutil.copytree(session.demo, copy)
    assert (copy / MARKER).is_file()
    with pytest.raises(ConfigError):
        prepare(copy, force=False)
    prepare(copy, force=True)
    assert copy.is_dir() and not any(copy.iterdir())
