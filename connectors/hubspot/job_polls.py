"""How long crmseg waits between status polls of a HubSpot export or import job."""

from __future__ import annotations

#: Polls back off from half a second to this many seconds between polls.
#:
#: Why 2 s: a job is found done on average half a wait after it finished, and the
#: last export and the last import of a first sync sit on its critical path, so a
#: 5 s cap cost about 2.5 s of wall time per job. One job is polled at a time per
#: object type, so 2 s is at most one request in 20 of a 190-per-10-s budget while
#: two exports are waited for, and an import of 1M rows (about 500 s at the
#: stand-in's pessimistic speed) costs about 250 status requests of the daily allowance.
MAX_POLL_WAIT = 2.0


def poll_wait(attempt: int) -> float:
    """Seconds before status poll ``attempt`` (0-based): 0.5, 1, then 2. A job may
    run for hours, so the exponent is capped: thousands of polls never overflow."""
    return min(0.5 * 2 ** min(attempt, 4), MAX_POLL_WAIT)
