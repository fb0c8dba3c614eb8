"""The CI recipes in examples/ and the GitHub Action (action.yml) work as written.

What they say is read out of the YAML and checked (a pinned install from the repository, the
whole history, OIDC and no stored keys, several accounts, the gate, the wiring of SARIF,
JUnit, artifacts and summaries). Then their own shell runs in bash, verbatim, as the CI
runner would: the GitHub job's steps (the action's steps included, its inputs given as the
workflow gives them), the GitLab job's lines, and the pull-request jobs. AWS is the moto
server (reached through boto3's AWS_ENDPOINT_URL: the scripts stay verbatim), two accounts
through their audit roles; the snapshot repository has a baseline and a local bare remote;
GitLab mails through an SMTP server on 127.0.0.1. The install steps do not run (the test
runs this checkout; tests/test_version.py builds and installs it as they would)."""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from aiosmtpd.controller import Controller

from driftaudit.canonical import loads
from tests.support.faultproxy import FaultProxy
from tests.support.gitsnap import commit_all, git, init_repo, rule, security_group, write
from tests.support.motoserver import MotoServer, free_port

REPO = Path(__file__).resolve().parent.parent
GITHUB = REPO / "examples" / "github-actions" / "drift.yml"
GITLAB = REPO / "examples" / "gitlab-ci.yml"
ACTION = REPO / "action.yml"
REGION = "us-east-1"
#: The regions enabled in the test's accounts (see :func:`enabled_regions`).
ENABLED = ("us-east-1", "eu-west-1")
OPERATORS = {";", "&&", "||", "|", "(", ")", "&"}
#: How the recipes name driftaudit: its repository at a commit SHA to fill in.
PINNED = "OWNER/driftaudit@COMMIT_SHA"
PIP_PINNED = f"git+https://github.com/{PINNED}"
ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/[\w+=,.@-]+")


# --- reading the recipes -----------------------------------------------------------------------


@dataclass
class Command:
    argv: list[str]  # after "driftaudit", variables unexpanded
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
                argv = rest[:end]
                if ">>" in argv:
                    argv = argv[: argv.index(">>")]
                assert ">" not in argv, f"{line}: '>' would truncate the file each run"
                out.append(Command(argv, line))
            start = token in OPERATORS
    return out


def load_yaml(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def github_steps(job: str) -> list[dict[str, Any]]:
    steps = load_yaml(GITHUB)["jobs"][job]["steps"]
    assert isinstance(steps, list)
    return steps


def action_steps() -> list[dict[str, Any]]:
    steps = load_yaml(ACTION)["runs"]["steps"]
    assert isinstance(steps, list)
    return steps


def run_lines(steps: list[dict[str, Any]]) -> list[str]:
    return [line for step in steps if "run" in step for line in shell_lines(step["run"])]


def gitlab_job(name: str) -> list[str]:
    job = load_yaml(GITLAB)[name]
    return [
        line
        for key in ("before_script", "script")
        for item in job.get(key, [])
        for line in shell_lines(item)
    ]


def driftaudit_uses(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in steps if s.get("uses", "").startswith("OWNER/driftaudit@")]


def installs(line: str) -> bool:
    """An install line: this checkout is what runs instead."""
    return line.strip().startswith("pip install")


# --- what the recipes say ----------------------------------------------------------------------


def test_recipes_install_driftaudit_from_its_repository_at_a_pinned_commit() -> None:
    """driftaudit is on no package index: every install names the repository and a commit."""
    for job in ("review", "drift"):
        uses = driftaudit_uses(github_steps(job))
        assert [u["uses"] for u in uses] == [PINNED], job
    assert "pip install" not in GITHUB.read_text()
    pipeline = load_yaml(GITLAB)
    assert pipeline["variables"]["DRIFTAUDIT"] == PIP_PINNED
    for job in ("validate", "check-baselines", "drift"):
        lines = [line.strip() for line in gitlab_job(job) if installs(line)]
        assert lines == ['pip install -q "$DRIFTAUDIT"'], job
    # The action installs from its own checkout, the commit the workflow pinned, and the
    # job's log names that commit.
    install = next(s for s in action_steps() if s.get("name", "").startswith("Install"))
    assert 'install -q "$GITHUB_ACTION_PATH"' in install["run"]
    assert install["run"].rstrip().endswith('/driftaudit" --version')
    assert "driftaudit --version" in gitlab_job("drift")[1]


def test_recipes_check_out_the_whole_history() -> None:
    checkout = github_steps("drift")[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    assert load_yaml(GITLAB)["drift"]["variables"]["GIT_DEPTH"] == 0


def test_recipes_snapshot_several_accounts_through_oidc_without_stored_keys() -> None:
    workflow = load_yaml(GITHUB)
    steps = github_steps("drift")
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/"))
    assert set(credentials["with"]) == {"role-to-assume", "aws-region"}
    assert workflow["jobs"]["drift"]["permissions"]["id-token"] == "write"
    text = GITHUB.read_text() + GITLAB.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "aws-secret-access-key" not in text
    roles = ROLE_ARN.findall(driftaudit_uses(steps)[0]["with"]["role-arn"])
    assert len(set(roles)) >= 2
    job = load_yaml(GITLAB)["drift"]
    assert job["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com"
    assert "AWS_WEB_IDENTITY_TOKEN_FILE" in job["variables"]
    assert len(set(ROLE_ARN.findall(job["variables"]["DRIFTAUDIT_ROLE_ARNS"]))) >= 2
    snapshot = next(c for c in driftaudit_commands(gitlab_job("drift")) if c.name == "snapshot")
    assert '"${roles[@]}"' in snapshot.line  # one --role-arn per account


def test_github_workflow_wiring() -> None:
    workflow = load_yaml(GITHUB)
    # YAML 1.1 reads the key "on" as true.
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["schedule"][0]["cron"] and "pull_request" in triggers
    assert workflow["jobs"]["drift"]["permissions"] == {
        "contents": "write",
        "id-token": "write",
        "security-events": "write",
    }
    steps = github_steps("drift")
    snapshot = driftaudit_uses(steps)[0]
    assert snapshot["with"]["fail-on"] == "security_groups" and snapshot["with"]["regions"] == "all"
    commands = driftaudit_commands(run_lines(steps))
    sarif = next(c for c in commands if c.option("--format") == "sarif")
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/"))
    assert upload["with"]["sarif_file"] == sarif.option("-o")
    summary = [c for c in commands if '>> "$GITHUB_STEP_SUMMARY"' in c.line]
    assert {(c.name, c.option("--format")) for c in summary} == {
        ("check", "markdown"),
        ("report", "markdown"),
    }
    report = next(c for c in summary if c.name == "report")
    assert report.argv[-2:] == ["$DRIFTAUDIT_BEFORE", "HEAD"]
    # Steps after the snapshot run even when it failed (the gate exits 2), so the SARIF
    # upload and the summary are never lost; a cancelled run stops.
    after = steps[steps.index(snapshot) + 1 :]
    assert after and all("!cancelled()" in s.get("if", "") for s in after)
    # The pull-request job sees the base (HEAD^1) to know whether a baseline changed.
    review = github_steps("review")
    assert review[0]["with"]["fetch-depth"] >= 2
    assert [c.name for c in driftaudit_commands(run_lines(review))] == ["validate", "check"]


def test_gitlab_pipeline_wiring() -> None:
    pipeline = load_yaml(GITLAB)
    drift = pipeline["drift"]
    assert {"if": '$CI_PIPELINE_SOURCE == "schedule"'} in drift["rules"]
    assert pipeline["validate"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    check_rule = pipeline["check-baselines"]["rules"][0]
    assert check_rule["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    assert {"baselines/**/*", "driftaudit.yaml"} <= set(check_rule["changes"])
    commands = driftaudit_commands(gitlab_job("drift"))
    written = {c.option("-o") for c in commands if c.option("-o") not in (None, ".")}
    assert written == set(drift["artifacts"]["paths"])
    junit = next(c for c in commands if c.option("--format") == "junit")
    assert drift["artifacts"]["reports"]["junit"] == junit.option("-o")
    assert drift["artifacts"]["when"] == "always"
    snapshot = next(c for c in commands if c.name == "snapshot")
    assert snapshot.option("--fail-on") == "security_groups"
    reports = [c for c in commands if c.name == "report"]
    for report in reports:  # the range this run committed
        assert report.argv[report.argv.index("$BEFORE") + 1] == "HEAD", report.line
    assert any(c.option("--email-to") for c in reports)
    # Exit codes are collected and the job fails only at the end, after every report.
    assert gitlab_job("drift")[-1].startswith("for code in")


def test_the_action_passes_inputs_as_variables_never_as_script_text() -> None:
    """``${{ inputs.x }}`` pasted into a script is script injection; through env it is data."""
    action = load_yaml(ACTION)
    assert action["runs"]["using"] == "composite"
    inputs = set(action["inputs"])
    for step in action_steps():
        assert "${{" not in step.get("run", ""), step.get("name")
        for value in step.get("env", {}).values():
            for name in re.findall(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", value):
                assert name in inputs
    used = {u for s in driftaudit_uses(github_steps("drift")) for u in s.get("with", {})}
    assert used <= inputs


# --- running the recipes' shell ----------------------------------------------------------------


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
    # GitHub's shell for run steps (and the action's `shell: bash`); GitLab runs the job's
    # lines in one bash that stops at the first failing line, as -e does.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def expand_expressions(text: str, inputs: dict[str, str], github: dict[str, str]) -> str:
    """``${{ inputs.NAME }}`` and ``${{ github.NAME }}``: the only expressions the action's
    variables use (anything else is an error here)."""

    def one(m: re.Match[str]) -> str:
        scope, name = m.group(1), m.group(2)
        return inputs[name] if scope == "inputs" else github[name]

    out = re.sub(r"\$\{\{\s*(inputs|github)\.([\w-]+)\s*\}\}", one, text)
    assert "${{" not in out, f"an expression this test does not evaluate: {text}"
    return out


@dataclass
class GitHubRun:
    """One job of the workflow run step by step, as a runner would: each run step in its own
    bash, GITHUB_ENV lines carried to the later steps, a step without ``if`` skipped after a
    failure, ``!cancelled()`` steps always run, other actions (checkout, credentials, the
    SARIF upload) left out; ``uses: OWNER/driftaudit@…`` runs the action's own steps."""

    repo: Path
    env: dict[str, str]
    tmp_path: Path
    codes: dict[str, int | None] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    carried: dict[str, str] = field(default_factory=dict)

    def job(self, name: str) -> dict[str, int | None]:
        failed = False
        for step in github_steps(name):
            title = step.get("name") or step.get("uses", "")
            if failed and "!cancelled()" not in step.get("if", ""):
                self.codes[title] = None  # skipped: an earlier step failed
                continue
            if "run" in step:
                code = self.bash(step["run"], {})
            elif step["uses"].startswith("OWNER/driftaudit@"):
                code = self.action(step.get("with", {}))
            else:
                continue
            self.codes[title] = code
            failed = failed or code != 0
        return self.codes

    def action(self, given: dict[str, Any]) -> int:
        spec = load_yaml(ACTION)["inputs"]
        assert set(given) <= set(spec)
        inputs = {k: str(given.get(k, v.get("default", ""))) for k, v in spec.items()}
        github = {"ref_name": git(self.repo, "branch", "--show-current").strip()}
        for step in action_steps():
            if "uses" in step or step.get("name", "").startswith("Install"):
                continue  # setup-python, and the install this test replaces with the checkout
            condition = step.get("if")
            if condition is not None:
                assert condition == "inputs.snapshot == 'true'", condition
                if inputs["snapshot"] != "true":
                    continue
            variables = {k: expand_expressions(v, inputs, github) for k, v in step["env"].items()}
            code = self.bash(step["run"], variables)
            if code:
                return code  # a composite action stops at its first failing step
        return 0

    def bash(self, script: str, variables: dict[str, str]) -> int:
        files = {n: self.tmp_path / n.lower() for n in ("GITHUB_ENV", "GITHUB_OUTPUT")}
        for path in files.values():
            path.write_text("")
        env = {
            **self.env,
            **self.carried,
            **variables,
            **{n: str(p) for n, p in files.items()},
            "RUNNER_TEMP": str(self.tmp_path),
            "GITHUB_ACTION_PATH": str(REPO),
        }
        proc = bash(script, self.repo, env)
        self.stdout += proc.stdout
        self.stderr += proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        for line in files["GITHUB_ENV"].read_text().splitlines():
            name, _, value = line.partition("=")
            self.carried[name] = value
        for line in files["GITHUB_OUTPUT"].read_text().splitlines():
            name, _, value = line.partition("=")
            self.outputs[name] = value
        return proc.returncode


def run_gitlab_job(name: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    pipeline = load_yaml(GITLAB)
    variables = {k: str(v) for k, v in pipeline.get("variables", {}).items()}
    variables |= {k: str(v) for k, v in pipeline[name].get("variables", {}).items()}
    lines = [line for line in gitlab_job(name) if not installs(line)]
    # CI/CD variables set in the project's settings override the file's, as in GitLab.
    return bash("\n".join(lines), repo, {**variables, **env})


# --- AWS, the repository and its remote --------------------------------------------------------


def enabled_regions(body: bytes) -> bytes:
    """DescribeRegions as AWS answers it for an account with two regions enabled: without
    AllRegions, only the enabled ones (moto lists every region, opted-in or not)."""

    def keep(m: re.Match[bytes]) -> bytes:
        return m.group(0) if m.group(1).decode() in ENABLED else b""

    return re.sub(
        rb"<item>(?:(?!</item>).)*?<regionName>([^<]*)</regionName>.*?</item>",
        keep,
        body,
        flags=re.S,
    )


def once(action: Callable[[], None]) -> Callable[[bytes], bytes]:
    """A proxy rewrite that leaves the answer alone and runs ``action`` the first time."""
    lock, done = threading.Lock(), []

    def rewrite(body: bytes) -> bytes:
        with lock:
            if not done:
                done.append(True)
                action()
        return body

    return rewrite


def account_ec2(url: str, role_arn: str) -> Any:
    """EC2 in the account of ``role_arn``, through that role (moto keeps one state per
    account)."""
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION)
    c = sts.assume_role(RoleArn=role_arn, RoleSessionName="seed")["Credentials"]
    return boto3.client(
        "ec2",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
    )


def open_to_world(ec2: Any, group: str, port: int) -> None:
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        ],
    )  # fmt: skip


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
#: The baseline change a colleague merges while the snapshot runs: SSH to the world declared.
BASELINE_WITH_SSH = (
    BASELINE + "      - protocol: tcp\n        ports: 22\n        from: [0.0.0.0/0]\n"
)


@dataclass
class Site:
    """A snapshot repository checked out from its remote, and AWS with two accounts."""

    repo: Path
    remote: Path
    group: str
    ec2: Any  # the first account's
    accounts: list[str]
    url: str  # the proxy's: two regions enabled

    def merge_baseline(self, text: str, tmp: Path) -> Callable[[], None]:
        """A colleague's clone pushing a baseline change to the remote: what a merged pull
        request does."""

        def merge() -> None:
            other = tmp / "colleague"
            if not other.exists():
                git(tmp, "clone", "-q", str(self.remote), str(other))
            git(other, "pull", "-q")
            (other / "baselines" / "security.yaml").write_text(text.format(group=self.group))
            commit_all(other, "baseline: SSH to the world is intended")
            git(other, "push", "-q")

        return merge


@contextlib.contextmanager
def snapshot_site(moto: MotoServer, tmp_path: Path, roles: list[str]) -> Iterator[Site]:
    ec2 = account_ec2(moto.url, roles[0])
    group = ec2.create_security_group(GroupName="web", Description="web tier")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        ],
    )  # fmt: skip
    # The snapshot repository as a team would set it up: a README, a baseline, a remote.
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    git(remote, "config", "receive.advertisePushOptions", "true")  # GitLab's push -o ci.skip
    seed = init_repo(tmp_path / "seed")
    git(seed, "symbolic-ref", "HEAD", "refs/heads/main")
    (seed / "README.md").write_text("EC2 snapshots, written by driftaudit.\n")
    (seed / "baselines").mkdir()
    (seed / "baselines" / "security.yaml").write_text(BASELINE.format(group=group))
    commit_all(seed, "baseline")
    git(seed, "push", "-q", str(remote), "main")
    repo = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(remote), str(repo))
    accounts = [m.group(1) for r in roles for m in [ROLE_ARN.fullmatch(r)] if m]
    with FaultProxy(moto.url, rewrite={"ec2:DescribeRegions": enabled_regions}) as proxy:
        yield Site(repo, remote, group, ec2, accounts, proxy.url)


def committed_files(repo: Path, rev: str = "HEAD") -> list[str]:
    return git(repo, "ls-tree", "-r", "--name-only", rev).split()


def assert_snapshot_of_every_account(site: Site, rev: str = "HEAD") -> None:
    files = committed_files(site.repo, rev)
    for account in site.accounts:
        for region in ENABLED:
            assert any(f.startswith(f"{account}/{region}/") for f in files), (account, region)
    # Only the enabled regions (and account-wide files, if any: region "global").
    regions = {f.split("/")[1] for f in files if f[:12].isdigit()}
    assert regions - {"global"} == set(ENABLED)


def rules_of(site: Site, rev: str = "HEAD") -> list[dict[str, Any]]:
    path = f"{site.accounts[0]}/{REGION}/security_groups/{site.group}.yaml"
    rules = loads(git(site.repo, "show", f"{rev}:{path}"))["resource"]["Rules"]
    assert isinstance(rules, list)
    return rules


def opened(port: int) -> dict[str, Any]:
    return {"Direction": "ingress", "FromPort": port, "Source": "0.0.0.0/0"}


def has_rule(rules: list[dict[str, Any]], wanted: dict[str, Any]) -> bool:
    return any(wanted.items() <= r.items() for r in rules)


# --- GitHub Actions ----------------------------------------------------------------------------


def role_arns(text: str) -> list[str]:
    return [m.group(0) for m in ROLE_ARN.finditer(text)]


DRIFT_STEPS = [
    "Snapshot every account and region, commit, push",
    "Check against the baseline (SARIF for code scanning)",
    "Job summary (drift from the baseline, then what this run changed)",
]


def test_github_drift_job_end_to_end(moto: MotoServer, tmp_path: Path) -> None:
    """Day 1: the first run commits every account's snapshot and pushes it; the gate trips
    (every group is new). Day 2: someone opens SSH to the world and, while the snapshot
    runs, a colleague merges a baseline declaring it: the push is refused, the snapshot
    commit replayed on the merged baseline and pushed, the gate trips on it, and check
    (against the merged baseline) is in sync."""
    roles = role_arns(driftaudit_uses(github_steps("drift"))[0]["with"]["role-arn"])
    with snapshot_site(moto, tmp_path, roles) as site:
        github_days(site, tmp_path)


def github_days(site: Site, tmp_path: Path) -> None:
    env = {
        **shell_env(tmp_path, site.url),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    run = GitHubRun(site.repo, env, tmp_path)
    codes = run.job("drift")
    assert [codes.get(s) for s in DRIFT_STEPS] == [2, 0, 0], run.stderr
    assert "driftaudit: --fail-on security_groups:" in run.stderr
    head = git(site.repo, "rev-parse", "HEAD").strip()
    assert git(site.remote, "rev-parse", "main").strip() == head == run.outputs["commit"]
    assert_snapshot_of_every_account(site)
    assert (site.repo / "driftaudit.sarif").is_file()

    open_to_world(site.ec2, site.group, 22)
    git(site.repo, "clean", "-fdxq")
    summary = tmp_path / "summary.md"
    summary.write_text("")
    before = head
    run = GitHubRun(site.repo, env, tmp_path)
    merge = site.merge_baseline(BASELINE_WITH_SSH, tmp_path)
    with FaultProxy(
        site.url, rewrite={"ec2:DescribeSecurityGroups": once(merge)}
    ) as mid_run:  # the merge lands while the groups are being read
        run.env = {**env, "AWS_ENDPOINT_URL": mid_run.url}
        codes = run.job("drift")
    assert [codes.get(s) for s in DRIFT_STEPS] == [2, 0, 0], run.stderr
    assert "push refused; replaying the snapshot commit on main" in run.stderr
    head = git(site.repo, "rev-parse", "HEAD").strip()
    # Nothing lost: the remote holds the merged baseline, then the day's snapshot on it.
    assert git(site.remote, "rev-parse", "main").strip() == head
    parent = git(site.repo, "rev-parse", "HEAD^").strip()
    assert git(site.repo, "log", "-1", "--format=%s", parent).strip().startswith("baseline:")
    assert git(site.repo, "rev-parse", "HEAD^^").strip() == before
    assert has_rule(rules_of(site), opened(22))
    assert run.carried["DRIFTAUDIT_BEFORE"] == run.outputs["before"] == before
    # The summary: check in sync with the merged baseline, the day's change reported.
    text = summary.read_text(encoding="utf-8")
    assert site.group in text and "0.0.0.0/0" in text


# --- GitLab CI ---------------------------------------------------------------------------------


@dataclass
class Mailbox:
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(msg)
        return "250 Message accepted"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def gitlab_env(tmp_path: Path, site: Site, smtp_port: int) -> dict[str, str]:
    """The runner's environment: GitLab's predefined variables, the project's CI/CD
    variables, and AWS reached through OIDC only (no keys in the environment: boto3 assumes
    AWS_ROLE_ARN with the job's ID token)."""
    env = {k: v for k, v in shell_env(tmp_path, site.url).items() if not k.startswith("AWS_")}
    return {
        **env,
        "AWS_ENDPOINT_URL": site.url,
        "AWS_CONFIG_FILE": "/nonexistent/driftaudit-tests/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/driftaudit-tests/credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ROLE_ARN": "arn:aws:iam::999999999999:role/gitlab-oidc",
        "AWS_ID_TOKEN": "header.payload.signature",
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "web-identity-token"),
        "CI_SERVER_HOST": "gitlab.example.com",
        "CI_PROJECT_PATH": "team/snapshots",
        "CI_COMMIT_BRANCH": "main",
        "DRIFTAUDIT_PUSH_TOKEN": "token",
        "DRIFTAUDIT_MAIL_TO": "secops@example.com",
        "DRIFTAUDIT_SMTP_HOST": "127.0.0.1",
        "DRIFTAUDIT_SMTP_PORT": str(smtp_port),
    }


PUSH_URL = "https://driftaudit:token@gitlab.example.com/team/snapshots.git"


def test_gitlab_drift_job_end_to_end(
    moto: MotoServer, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    """Day 1: a baseline merged while the snapshot runs; the push is refused, the snapshot
    replayed on it and pushed; every report written and mailed; the job exits 2 (the gate:
    every group is new). Day 2: someone opens RDP to the world and GitLab cannot be reached:
    the push fails, yet the reports are written and the change mailed; the job exits 1."""
    roles = role_arns(load_yaml(GITLAB)["drift"]["variables"]["DRIFTAUDIT_ROLE_ARNS"])
    with snapshot_site(moto, tmp_path, roles) as site:
        gitlab_days(site, tmp_path, mailbox)


def gitlab_days(site: Site, tmp_path: Path, mailbox: tuple[Mailbox, int]) -> None:
    box, port = mailbox
    env = gitlab_env(tmp_path, site, port)
    git(site.repo, "config", f"url.{site.remote}.insteadOf", PUSH_URL)  # GitLab is the remote
    git(site.repo, "checkout", "-q", "--detach")  # as GitLab's runner checks out
    artifacts = load_yaml(GITLAB)["drift"]["artifacts"]["paths"]

    merge = site.merge_baseline(BASELINE_WITH_SSH, tmp_path)
    with FaultProxy(site.url, rewrite={"ec2:DescribeSecurityGroups": once(merge)}) as mid_run:
        proc = run_gitlab_job("drift", site.repo, {**env, "AWS_ENDPOINT_URL": mid_run.url})
    assert proc.returncode == 2, proc.stderr
    assert "push refused; replaying the snapshot commit on main" in proc.stderr
    head = git(site.repo, "rev-parse", "HEAD").strip()
    assert git(site.remote, "rev-parse", "main").strip() == head
    assert git(site.repo, "log", "-1", "--format=%s", "HEAD^").startswith("baseline:")
    assert_snapshot_of_every_account(site)
    assert all((site.repo / name).is_file() for name in artifacts), proc.stderr
    assert len(box.received) == 1, proc.stderr
    assert site.group in plain_text(box.received[0])

    open_to_world(site.ec2, site.group, 3389)
    git(site.repo, "clean", "-fdxq")
    # GitLab unreachable (or the token expired): pushing and fetching both fail.
    git(site.repo, "config", "--unset", f"url.{site.remote}.insteadOf")
    git(site.repo, "config", f"url.{tmp_path / 'gone.git'}.insteadOf", PUSH_URL)
    proc = run_gitlab_job("drift", site.repo, env)
    assert proc.returncode == 1, proc.stderr  # the push, reported after everything else
    assert git(site.remote, "rev-parse", "main").strip() == head  # nothing pushed...
    assert has_rule(rules_of(site), opened(3389))  # ...but committed here
    assert all((site.repo / name).is_file() for name in artifacts), proc.stderr
    changes = (site.repo / "driftaudit-changes.md").read_text(encoding="utf-8")
    assert "3389" in changes
    assert len(box.received) == 2, proc.stderr
    mail = box.received[1]
    assert mail["To"] == "secops@example.com" and "critical" in mail["Subject"]
    assert "3389" in plain_text(mail)


def plain_text(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


# --- pull requests and merge requests ----------------------------------------------------------

BAD_BASELINE = """\
version: 1
security_groups:
  - id: sg-0a
    ingress:
      - protocol: tcp
        ports: 70000
        from: [10.0.0.0/8]
"""


def review_repo(tmp_path: Path, change: Callable[[Path], None]) -> Path:
    """A snapshot repository (snapshot files, a baseline in sync), then a pull request
    merged into it as GitHub's refs/pull/N/merge is: HEAD^1 the base, HEAD^2 the change."""
    repo = init_repo(tmp_path / "pr")
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    write(
        repo,
        "security_groups",
        [security_group("sg-0a", "web", [rule("ingress", "tcp", "10.0.0.0/8", (443, 443))])],
    )
    (repo / "baselines").mkdir()
    (repo / "baselines" / "security.yaml").write_text(BASELINE.format(group="sg-0a"))
    commit_all(repo, "snapshot and baseline")
    git(repo, "checkout", "-q", "-b", "change")
    change(repo)
    commit_all(repo, "the pull request")
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge pull request", "change")
    return repo


def review(
    tmp_path: Path, change: Callable[[Path], None]
) -> tuple[dict[str, int | None], str, int, str]:
    """(GitHub's review job step codes, its summary, GitLab's check-baselines exit, its stderr)."""
    repo = review_repo(tmp_path, change)
    summary = tmp_path / "summary.md"
    summary.write_text("")
    env = {**shell_env(tmp_path, "http://127.0.0.1:9"), "GITHUB_STEP_SUMMARY": str(summary)}
    run = GitHubRun(repo, env, tmp_path)
    codes = run.job("review")
    gitlab = run_gitlab_job("check-baselines", repo, env)
    return codes, summary.read_text() + run.stdout + run.stderr, gitlab.returncode, gitlab.stderr


CHECK_STEP = "Changed baselines are valid and checked against the snapshots"


@pytest.mark.e2e
def test_pull_request_jobs_catch_a_baseline_driftaudit_cannot_load(tmp_path: Path) -> None:
    def bad(repo: Path) -> None:
        (repo / "baselines" / "ports.yaml").write_text(BAD_BASELINE)

    codes, github_log, gitlab_code, gitlab_log = review(tmp_path, bad)
    assert codes[CHECK_STEP] == 1
    for log in (github_log, gitlab_log):
        assert "ports.yaml" in log and "70000" in log and "Traceback" not in log
    assert gitlab_code == 1


@pytest.mark.e2e
def test_pull_request_jobs_show_drift_without_failing(tmp_path: Path) -> None:
    def stricter(repo: Path) -> None:
        text = BASELINE.format(group="sg-0a").replace("10.0.0.0/8", "10.1.0.0/16")
        (repo / "baselines" / "security.yaml").write_text(text)

    codes, github_log, gitlab_code, _ = review(tmp_path, stricter)
    assert codes[CHECK_STEP] == 0 and "sg-0a" in github_log  # drift, in the summary
    assert gitlab_code == 0


@pytest.mark.e2e
def test_pull_request_jobs_without_a_baseline_change_only_validate(tmp_path: Path) -> None:
    def notes(repo: Path) -> None:
        (repo / "NOTES.md").write_text("notes\n")

    codes, github_log, _, _ = review(tmp_path, notes)
    assert codes[CHECK_STEP] == 0 and "no baseline changed" in github_log
    assert codes["Snapshot files parse, match their schemas, are canonical, hold no secrets"] == 0
