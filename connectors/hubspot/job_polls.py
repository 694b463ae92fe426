"""How long crmseg waits between status polls of a HubSpot export or import job."""

from __future__ import annotations

#: Polls back off from half a second to this many seconds between polls.
MAX_POLL_WAIT = 5.0


def poll_wait(attempt: int) -> float:
    """Seconds before status poll ``attempt`` (0-based): 0.5, 1, 2, 4, then 5. A job may
    run for hours, so the exponent is capped: thousands of polls never overflow."""
    return min(0.5 * 2 ** min(attempt, 4), MAX_POLL_WAIT)
