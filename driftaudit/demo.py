"""``driftaudit demo``: the whole story in one command, on the embedded emulator.

Starts the AWS emulator (moto's server, in-process, on 127.0.0.1 only), replays ten days of
a small fleet's life (:mod:`driftaudit.demo_story`) with one snapshot committed per day at a
backdated date (day 10 is now), then runs what a user would run next, each command printed
before its output so it can be repeated by hand: the last day's diff, the check against the
demo baseline, the three history answers for 10.191.12.13, and the HTML report of the whole
period.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from driftaudit.errors import ConfigError

# The emulator accepts any credentials; these never leave 127.0.0.1.
DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    # Stock moto preloads public AMIs and ~1,200 snapshots of other accounts, and its
    # DescribeSnapshots ignores OwnerIds=self; AWS would return only the account's own.
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}
#: Inside .git, so git never shows it and no real snapshot repository has it: --force only
#: ever deletes a directory this command made.
MARKER = Path(".git") / "driftaudit-demo"
_HERE = Path(__file__).resolve().parent
# Installed wheel: driftaudit/baselines; source checkout or editable install: ../baselines.
BASELINE_FILES = (_HERE / "baselines" / "demo.yaml", _HERE.parent / "baselines" / "demo.yaml")
DAY = 86400

Say = Callable[[str], None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def emulator() -> Iterator[str]:
    """The embedded emulator on a free loopback port; yields its endpoint URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as e:
        raise ConfigError(
            "the demo needs the embedded AWS emulator: pip install 'driftaudit[demo]'"
        ) from e
    # The emulator's HTTP server logs every request through werkzeug; the demo shows results.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def environment(values: dict[str, str], drop: tuple[str, ...] = ()) -> Iterator[None]:
    """Set (and drop) environment variables, then restore them."""
    saved = {k: os.environ.get(k) for k in [*values, *drop]}
    for k in drop:
        os.environ.pop(k, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def demo_credentials() -> AbstractContextManager[None]:
    """Point boto3's chain at throwaway credentials for the emulator (and away from any
    AWS_ENDPOINT_URL or profile of the caller), then restore."""
    return environment(DEMO_ENV, drop=("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"))


def _warm_up(endpoint: str, region: str) -> None:
    """moto 5.2 mutates a dict shared by all EC2 responses on the first DescribeKeyPairs
    of a server; a concurrent describe then fails with HTTP 500. One call first avoids it."""
    import boto3

    boto3.client("ec2", region_name=region, endpoint_url=endpoint).describe_key_pairs()


def baseline_source() -> Path:
    for path in BASELINE_FILES:
        if path.is_file():
            return path
    raise ConfigError(f"the demo baseline is missing ({', '.join(map(str, BASELINE_FILES))})")


def prepare(directory: Path, force: bool) -> None:
    """An empty directory for the demo; a previous demo is replaced only with ``force``."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        if not (directory / MARKER).is_file():
            raise ConfigError(
                f"{directory} is not empty and holds no demo: give a new or empty directory "
                "(the demo never deletes what it did not create)"
            )
        if not force:
            raise ConfigError(
                f"{directory} already holds a demo: give another directory, or --force to "
                "replace it"
            )
        shutil.rmtree(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(
            f"{directory}: cannot create the demo directory: {e.strerror or e}"
        ) from e


def quote(args: list[str]) -> str:
    return "driftaudit " + " ".join(shlex.quote(a) for a in args)


def run_command(args: list[str], say: Say) -> int:
    """One driftaudit command as a user runs it: the installed command line in a process of
    its own (the demo is a library like the rest and does not import the CLI), its output
    shown after the command line."""
    say("")
    say(f"$ {quote(args)}")
    proc = subprocess.run(
        [sys.executable, "-m", "driftaudit", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(proc.stdout)
    sys.stdout.flush()
    sys.stderr.write(proc.stderr)
    sys.stderr.flush()
    say(f"(exit {proc.returncode})")
    return proc.returncode


def replay(directory: Path, fmt: str, endpoint: str, now: int, say: Say) -> str:
    """Play the story's ten days, one committed snapshot each; returns the first commit."""
    from driftaudit.collect.aws import ClientPool
    from driftaudit.collect.collectors import REGISTRY
    from driftaudit.collect.job import snapshot_and_commit
    from driftaudit.collect.output import open_output
    from driftaudit.demo_story import DAYS, REGION, story_clients

    fleet = story_clients(endpoint)
    _warm_up(endpoint, REGION)
    pool = ClientPool(endpoint_url=endpoint)
    targets = [(a, [REGION]) for a in pool.open_accounts(None, ())]
    # What `snapshot -o DIR --commit` prepares: the repository, DIR's lock for the replay.
    output = open_output(directory, commit=True)
    (directory / MARKER).write_text("made by driftaudit demo\n", encoding="utf-8")
    first = ""
    try:
        for number, step in enumerate(DAYS, 1):
            what = step(fleet)
            when = now - (len(DAYS) - number) * DAY
            date = f"@{when} +0000"
            with environment({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}):
                outcome, committed = snapshot_and_commit(
                    pool, targets, list(REGISTRY.values()), output, fmt
                )
            if outcome.failed:
                raise ConfigError(f"day {number}: the snapshot of the emulator failed")
            day = dt.datetime.fromtimestamp(when, dt.timezone.utc).strftime("%Y-%m-%d")
            say(f"day {number:2}  {day}  {what}")
            if committed is not None:
                first = first or committed.sha
                head = committed.message.splitlines()[0]
                recorded = "  (run recorded: a quiet day, not a gap)" if committed.run_only else ""
                say(f"               commit {committed.sha[:12]}  {head}{recorded}")
    finally:
        output.lock.release()
    return first


def history_page(directory: Path, address: str, port: int) -> str:
    """The three history answers for ``address`` as one HTML page of timelines."""
    from driftaudit.history.html import page
    from driftaudit.history.index import open_index
    from driftaudit.history.queries import exposure, ip_history, rule_history

    index = open_index(directory)
    try:
        results = [
            ip_history(index, address),
            rule_history(index, source=address),
            exposure(index, address, port=port),
        ]
    finally:
        index.close()
    return page(results)


def run_demo(directory: Path, fmt: str = "yaml", force: bool = False, say: Say = print) -> int:
    """Replay the story into ``directory`` and show what driftaudit answers; returns 0, or
    the exit code of a follow-up command that failed (1)."""
    from driftaudit.demo_story import STORY_IP

    started = time.monotonic()
    prepare(directory, force)
    with demo_credentials(), emulator() as endpoint:
        say(f"embedded AWS emulator on {endpoint} (nothing leaves this machine)")
        say(
            f"ten days of a small fleet in us-east-1, one snapshot committed per day -> {directory}"
        )
        say(
            "  (each day's snapshot is what "
            f"{quote(['snapshot', 'us-east-1', '-o', str(directory), '--commit'])} does on AWS)"
        )
        first = replay(directory, fmt, endpoint, int(time.time()), say)
    target = directory / "baselines" / "demo.yaml"
    target.parent.mkdir(exist_ok=True)
    shutil.copyfile(baseline_source(), target)

    d = str(directory)
    report = str(directory / "report.html")
    commands = [
        ["diff", "-C", d, "--since", "1 day ago"],
        ["check", "-C", d, "--baseline", str(target)],
        ["history", "ip", STORY_IP, "-C", d],
        ["history", "rule", "--source", STORY_IP, "-C", d],
        ["history", "exposure", STORY_IP, "--port", "22", "-C", d],
        ["report", "-C", d, first[:12], "HEAD", "--format", "html", "-o", report],
    ]
    say("")
    say("what you would run next (diff exits 2 on changes, check 2 on drift):")
    codes = [run_command(args, say) for args in commands]
    history = directory / "history.html"
    history.write_text(history_page(directory, STORY_IP, 22), encoding="utf-8")
    say("")
    say(
        f"wrote {report}: the whole period; its chart of changes per day shows day 5's "
        "world-open SSH rule, which the period's diff no longer holds, and day 9, a run "
        "with no change"
    )
    say(f"wrote {history}: the three history answers above, as timelines")
    say("")
    say("to repeat each step by hand:")
    for args in commands:
        say(f"  {quote(args)}")
    say("and each history answer alone as a page with its timeline:")
    for args in commands[2:5]:
        page_file = str(directory / f"history-{args[1]}.html")
        say(f"  {quote([*args, '--format', 'html', '-o', page_file])}")
    say(f"done in {time.monotonic() - started:.1f} s")
    # diff and check exit 2 when they find something: that is the story, not a failure.
    return 1 if any(code == 1 for code in codes) else 0
