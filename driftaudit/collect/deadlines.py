"""How long a snapshot run and each of its parts may take (pure: times in, failures out).

A blackholed endpoint (a firewall dropping packets, a stalled proxy) must not hold a daily
job for as long as botocore's retries allow: after its deadline a part fails like any other
failed part, "timed out after N s", and its previous files are kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from driftaudit.errors import PartFailure

#: The kind of failure of a part whose thread hit its deadline itself (see collect()).
DEADLINE = "deadline"
#: Defaults of ``snapshot --timeout`` and ``--part-timeout`` (seconds).
RUN_TIMEOUT = 1800.0
PART_TIMEOUT = 300.0


@dataclass(frozen=True)
class Deadlines:
    """How long a run and each of its parts may take (seconds). A part's clock starts when a
    worker starts it; it ends at ``part`` seconds or at the run's end, whichever is first."""

    run: float = RUN_TIMEOUT
    part: float = PART_TIMEOUT
    #: When the run started (``time.monotonic()``); set-up calls count against the run.
    start: float = 0.0

    @classmethod
    def starting_now(cls, run: float = RUN_TIMEOUT, part: float = PART_TIMEOUT) -> Deadlines:
        return cls(run, part, time.monotonic())

    @property
    def run_end(self) -> float:
        return (self.start or time.monotonic()) + self.run

    def timed_out(self, started: float | None) -> PartFailure:
        """The failure of a part given up at its deadline (never started: ``started`` None)."""
        if started is not None and started + self.part <= self.run_end:
            return PartFailure(
                f"timed out after {self.part:g} s", "", "", "the part's deadline (--part-timeout)"
            )
        note = "" if started is not None else "; not started before it"
        return PartFailure(
            f"timed out after {self.run:g} s", "", "", f"the run's deadline (--timeout){note}"
        )
