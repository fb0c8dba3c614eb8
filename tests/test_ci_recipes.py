"""The CI recipes in examples/ work. Their ``driftaudit`` commands are read out of the YAML
and checked for the documented sequence; then, against the moto server, in a snapshot
repository with a baseline and a remote, each recipe's shell runs verbatim in bash and its
commands run again one by one, giving the exit codes and files the recipes rely on."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from driftaudit.canonical import loads
from tests.support.gitsnap import commit_all, git, init_repo
from tests.support.motoserver import MotoServer

REPO = Path(__file__).resolve().parent.parent
GITHUB = REPO / "examples" / "github-actions" / "drift.yml"
GITLAB = REPO / "examples" / "gitlab-ci.yml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
OPERATORS = {";", "&&", "||", "|", "(", ")", "&"}


# --- reading the recipes ----------------------------------------------------------------------


@dataclass
class Command:
    argv: list[str]  # after "driftaudit", variables unexpanded
    append_to: str | None  # ">> FILE": stdout is appended there
    line: str  # the shell line, for messages

    @property
    def name(self) -> str:
        return self.argv[0]

    def option(self, flag: str) -> str | None:
        return self.argv[self.argv.index(flag) + 1] if flag in self.argv else None


def shell_lines(script: str) -> list[str]:
    """Lines of a shell script, continuation lines joined."""
    return script.replace("\\\n", " ").split("\n")


def driftaudit_commands(lines: list[str]) -> list[Command]:
    out = []
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        tokens = list(lexer)
        start = True
        for i, token in enumerate(tokens):
            if start and token == "driftaudit":
                rest = tokens[i + 1 :]
                end = next((j for j, t in enumerate(rest) if t in OPERATORS), len(rest))
                argv, target = rest[:end], None
                if ">>" in argv:
                    k = argv.index(">>")
                    argv, target = argv[:k], argv[k + 1]
                assert ">" not in argv, f"{line}: '>' would truncate the file each run"
                out.append(Command(argv, target, line))
            start = token in OPERATORS
    return out


def load_yaml(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def github_job(name: str) -> tuple[list[dict[str, Any]], list[str]]:
    """(steps, shell lines of its run steps) of one job of the workflow."""
    steps = load_yaml(GITHUB)["jobs"][name]["steps"]
    lines = [line for step in steps if "run" in step for line in shell_lines(step["run"])]
    return steps, lines


def gitlab_job(name: str) -> list[str]:
    job = load_yaml(GITLAB)[name]
    return [
        line
        for key in ("before_script", "script")
        for item in job.get(key, [])
        for line in shell_lines(item)
    ]


def recipe(which: str) -> tuple[list[str], list[str]]:
    """Shell lines of (the scheduled drift job, the pre-review validate job)."""
    if which == "github":
        return github_job("drift")[1], github_job("validate")[1]
    return gitlab_job("drift"), gitlab_job("validate")


def names(commands: list[Command]) -> list[str]:
    return [c.name for c in commands]


# --- what the recipes say -----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["github", "gitlab"])
def test_recipe_runs_the_documented_sequence(which: str) -> None:
    drift, validate = recipe(which)
    commands = driftaudit_commands(drift)
    assert names(driftaudit_commands(validate)) == ["validate"]
    snapshot = commands[0]
    assert snapshot.name == "snapshot"
    assert {"--all-regions", "--commit"} <= set(snapshot.argv) and snapshot.option("-o") == "."
    # The commit is pushed right after the snapshot, before anything can fail on drift.
    text = "\n".join(drift)
    assert (
        text.index("driftaudit snapshot") < text.index("git push") < text.index("driftaudit check")
    )
    formats = {c.option("--format") for c in commands if c.name == "check"}
    assert {"sarif", "markdown"} <= formats
    report = next(c for c in commands if c.name == "report")
    assert report.option("--format") == "markdown"
    gate = commands[-1]
    assert gate.name == "diff" and gate.option("--fail-on") == "security_groups"
    # The range is this run's: from the commit before the snapshot to the new HEAD.
    assert "BEFORE=$(git rev-parse HEAD)" in text
    assert text.index("BEFORE=$(git rev-parse HEAD)") < text.index("driftaudit snapshot")
    assert gate.argv[-2:] == report.argv[-2:] == ["$BEFORE", "HEAD"]


def test_github_workflow_wiring() -> None:
    workflow = load_yaml(GITHUB)
    # YAML 1.1 reads the key "on" as true.
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["schedule"][0]["cron"] and "pull_request" in triggers
    jobs = workflow["jobs"]
    assert jobs["drift"]["permissions"] == {
        "contents": "write",
        "id-token": "write",
        "security-events": "write",
    }
    steps, lines = github_job("drift")
    uses = [s["uses"].split("@")[0] for s in steps if "uses" in s]
    assert uses[0] == "actions/checkout" and "github/codeql-action/upload-sarif" in uses
    commands = driftaudit_commands(lines)
    sarif = next(c for c in commands if c.option("--format") == "sarif")
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/"))
    assert upload["with"]["sarif_file"] == sarif.option("-o")
    summary = [c for c in commands if c.append_to == "$GITHUB_STEP_SUMMARY"]
    assert {c.option("--format") for c in summary} == {"markdown"}
    assert {c.name for c in summary} == {"check", "report"}
    # Steps after the snapshot run even when an earlier one failed (drift exits 2), so the
    # SARIF upload and the summary are never lost; a cancelled run stops.
    after = steps[
        [s.get("name", "") for s in steps].index("Snapshot every region, commit, push") + 1 :
    ]
    assert all("!cancelled()" in s.get("if", "") for s in after)


def test_gitlab_pipeline_wiring() -> None:
    pipeline = load_yaml(GITLAB)
    drift = pipeline["drift"]
    assert {"if": '$CI_PIPELINE_SOURCE == "schedule"'} in drift["rules"]
    assert pipeline["validate"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    commands = driftaudit_commands(gitlab_job("drift"))
    written = {c.option("-o") for c in commands if c.option("-o") not in (None, ".")}
    assert written == set(drift["artifacts"]["paths"])
    junit = next(c for c in commands if c.option("--format") == "junit")
    assert drift["artifacts"]["reports"]["junit"] == junit.option("-o")
    assert drift["artifacts"]["when"] == "always"
    # Exit codes are collected and the job fails only at the end, after every report.
    assert gitlab_job("drift")[-1].startswith("for code in")


# --- end to end against the moto server -------------------------------------------------------

BASELINE = """\
version: 1
security_groups:
  - id: {group}
    exclusive: true
    ingress:
      - protocol: tcp
        ports: 443
        from: [10.0.0.0/8]
"""


def expand(value: str, env: dict[str, str]) -> str:
    """$NAME and ${NAME} from ``env``; a variable the test does not provide is an error."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        assert name in env, f"the recipe uses ${name}, which this test does not provide"
        return env[name]

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", one, value)


@dataclass
class Runner:
    """Runs recipe commands in-process, as the CI shell would in the repository root."""

    url: str
    env: dict[str, str]
    capsys: pytest.CaptureFixture[bytes]

    def __call__(self, command: Command) -> int:
        from driftaudit.cli import main

        argv = [expand(a, self.env) for a in command.argv]
        if argv[0] == "snapshot":
            argv += ["--endpoint-url", self.url]  # the one change: moto instead of AWS
        self.capsys.readouterr()
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        out, err = self.capsys.readouterr()
        assert "Traceback" not in err.decode(), err.decode()
        if command.append_to:
            with open(expand(command.append_to, self.env), "ab") as f:
                f.write(out)
        return code


def require_check_command() -> None:
    from driftaudit.cli import cli

    if "check" not in cli.commands:
        pytest.fail("driftaudit check is not registered yet (driftaudit/commands/check.py)")


def sarif_results(path: Path) -> list[dict[str, Any]]:
    sarif = json.loads(path.read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    return [r for run in sarif["runs"] for r in run.get("results", [])]


def uris(results: list[dict[str, Any]]) -> set[str]:
    return {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in results
        for loc in r.get("locations", [])
    }


# --- the recipes' shell, run by bash -------------------------------------------------------------


def shell_env(tmp_path: Path, url: str) -> dict[str, str]:
    """The CI job's environment: ``driftaudit`` on PATH as the console script would be, and
    boto3's AWS_ENDPOINT_URL pointing every AWS call at moto (the scripts stay verbatim)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "driftaudit"
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m driftaudit "$@"\n')
    script.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "AWS_ENDPOINT_URL": url,
    }


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # GitHub's default shell for run steps; GitLab runs the job's lines in one shell, which
    # stops at the first failing line as -e does.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def installs(line: str) -> bool:
    """``pip install driftaudit``: this checkout is what runs instead."""
    return line.strip().startswith("pip install")


def run_github_steps(repo: Path, env: dict[str, str], tmp_path: Path) -> dict[str, int]:
    """The drift job's run steps in order, each in its own bash as on a runner; $GITHUB_ENV
    lines carry over to the later steps. Every step after the snapshot is ``!cancelled()``,
    so each runs whatever the earlier ones exited with."""
    steps, _ = github_job("drift")
    github_env = tmp_path / "github-env"
    codes: dict[str, int] = {}
    carried: dict[str, str] = {}
    for step in steps:
        if "run" not in step or installs(step["run"]):
            continue
        github_env.write_text("")
        proc = bash(step["run"], repo, {**env, **carried, "GITHUB_ENV": str(github_env)})
        codes[step["name"]] = proc.returncode
        assert "Traceback" not in proc.stderr, proc.stderr
        for line in github_env.read_text().splitlines():
            name, _, value = line.partition("=")
            carried[name] = value
    return codes


def run_gitlab_job(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    variables = {k: str(v) for k, v in load_yaml(GITLAB)["drift"]["variables"].items()}
    lines = [line for line in gitlab_job("drift") if not installs(line)]
    return bash("\n".join(lines), repo, {**variables, **env})


def open_to_world(ec2: Any, group: str, port: int) -> None:
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ],
    )  # fmt: skip


GITHUB_STEP_CODES = {
    "Snapshot every region, commit, push": 0,
    "Check against the baseline (SARIF for code scanning)": 2,  # drift: the step fails...
    "Job summary (drift from the baseline, then what this run changed)": 0,  # ...this does not
    "Fail on any security-group change": 2,
}


def test_recipes_end_to_end(
    moto: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    """Day 1: the first snapshot, in line with the baseline. Day 2 (GitHub) and day 3 (GitLab):
    someone opens one more port to the world, and the recipe runs verbatim in bash (pushes
    and exit-code handling included; AWS_ENDPOINT_URL sends boto3 to moto); then each of its
    driftaudit commands after the snapshot runs again on its own, for its exit code."""
    require_check_command()
    ec2 = boto3.client("ec2", endpoint_url=moto.url, region_name=REGION)
    group = ec2.create_security_group(GroupName="web", Description="web tier")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ],
    )  # fmt: skip
    # The snapshot repository as a team would set it up: a README, a baseline, a remote.
    repo = init_repo(tmp_path / "snapshots")
    (repo / "README.md").write_text("EC2 snapshots, written by driftaudit.\n")
    (repo / "baselines").mkdir()
    (repo / "baselines" / "security.yaml").write_text(BASELINE.format(group=group))
    commit_all(repo, "baseline")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")  # GitLab's push -o ci.skip
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "HEAD")
    branch = git(repo, "branch", "--show-current").strip()
    monkeypatch.chdir(repo)
    summary = tmp_path / "step-summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    run = Runner(moto.url, env, capsysbinary)
    shell = {**shell_env(tmp_path, moto.url), "GITHUB_STEP_SUMMARY": str(summary)}
    recipes = {which: driftaudit_commands(recipe(which)[0]) for which in ("github", "gitlab")}
    path = f"{ACCOUNT}/{REGION}/security_groups/{group}.yaml"

    assert run(recipes["github"][0]) == 0
    for commands in recipes.values():
        checks = [c for c in commands if c.name == "check"]
        assert [run(c) for c in checks] == [0] * len(checks)
        sarif = next(c.option("-o") for c in checks if c.option("--format") == "sarif")
        assert sarif_results(repo / str(sarif)) == []

    for which, port in (("github", 22), ("gitlab", 3389)):
        open_to_world(ec2, group, port)
        before = git(repo, "rev-parse", "HEAD").strip()
        git(repo, "clean", "-fdxq")
        summary.write_text("")
        if which == "github":
            assert run_github_steps(repo, shell, tmp_path) == GITHUB_STEP_CODES
            assert group in summary.read_text(encoding="utf-8")
            pushed = branch
        else:
            ci = {
                "CI_SERVER_HOST": "gitlab.example.com",
                "CI_PROJECT_PATH": "team/snapshots",
                "CI_COMMIT_BRANCH": "main",
                "DRIFTAUDIT_PUSH_TOKEN": "token",
                "AWS_ID_TOKEN": "id-token",
                "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "web-identity-token"),
            }
            push_url = "https://driftaudit:token@gitlab.example.com/team/snapshots.git"
            git(repo, "config", f"url.{remote}.insteadOf", push_url)  # push to the bare repo
            proc = run_gitlab_job(repo, {**shell, **ci})
            assert proc.returncode == 2, proc.stderr  # the drift, once every report is written
            artifacts = load_yaml(GITLAB)["drift"]["artifacts"]["paths"]
            assert all((repo / name).is_file() for name in artifacts), proc.stderr
            pushed = "main"
        # The snapshot was committed and pushed; the group's file holds the new rule.
        head = git(repo, "rev-parse", "HEAD").strip()
        assert head != before and git(remote, "rev-parse", pushed).strip() == head
        rules = loads(git(repo, "show", f"HEAD:{path}"))["resource"]["Rules"]
        opened = {"Direction": "ingress", "FromPort": port, "Source": "0.0.0.0/0"}
        assert any(opened.items() <= rule.items() for rule in rules)

        # The same commands one by one, for their exit codes and outputs.
        commands = recipes[which]
        git(repo, "clean", "-fdxq")
        summary.write_text("")
        env["BEFORE"] = before
        codes = [(c.name, run(c)) for c in commands[1:]]
        expected = {"check": 2, "report": 0, "diff": 2}
        assert codes == [(c.name, expected[c.name]) for c in commands[1:]], which
        # SARIF points code scanning at the group's snapshot file.
        sarif = next(c.option("-o") for c in commands if c.option("--format") == "sarif")
        results = sarif_results(repo / str(sarif))
        assert results and any(u.endswith(path) for u in uris(results)), which
        # The Markdown (the job summary, or GitLab's artifacts) names the group.
        markdown = [
            Path(c.append_to and expand(c.append_to, env) or repo / str(c.option("-o")))
            for c in commands
            if c.option("--format") == "markdown"
        ]
        assert len(markdown) == 2
        for file in markdown:
            assert group in file.read_text(encoding="utf-8"), (which, file)
        # The pre-review job passes on what the recipe committed.
        assert [run(c) for c in driftaudit_commands(recipe(which)[1])] == [0], which
