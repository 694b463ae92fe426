"""connectors.ratelimit with a fake clock: hand-computed waits, no real sleeping."""

from __future__ import annotations

import threading

import pytest

from connectors.errors import AuthError, BudgetExhausted, CrmError, RateLimited, ServerError
from connectors.ratelimit import (
    DailyBudget,
    RollingWindowLimiter,
    is_retriable,
    retrying,
    wait_seconds,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(
    limit: int, window: float, margin: float = 0.0
) -> tuple[RollingWindowLimiter, FakeClock]:
    clock = FakeClock()
    return (
        RollingWindowLimiter(limit, window, margin_seconds=margin, clock=clock, sleep=clock.sleep),
        clock,
    )


def test_sends_up_to_the_limit_without_waiting() -> None:
    lim, clock = limiter(3, 10)
    assert [lim.acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert clock.sleeps == []


def test_the_next_send_waits_until_the_oldest_leaves_the_window_plus_margin() -> None:
    lim, clock = limiter(3, 10, margin=0.25)
    lim.acquire()  # t=0
    clock.now = 4.0
    lim.acquire()  # t=4
    lim.acquire()  # t=4
    clock.now = 5.0
    # the send at t=0 leaves the 10.25 s span at t=10.25 -> wait 5.25 s
    assert lim.acquire() == pytest.approx(5.25)
    assert clock.now == pytest.approx(10.25)
    # the two sends at t=4 leave at 14.25; the fifth send waits for the first of them
    assert lim.acquire() == pytest.approx(4.0)
    assert lim.waited_total == pytest.approx(9.25)


def test_hold_delays_every_caller_even_with_room_in_the_window() -> None:
    lim, _clock = limiter(100, 10)
    lim.acquire()
    lim.hold(3.0)
    assert lim.acquire() == pytest.approx(3.0)
    assert lim.acquire() == 0.0  # hold has passed
    lim.hold(1.0)
    lim.hold(0.5)  # a shorter hold never shortens a longer one
    assert lim.acquire() == pytest.approx(1.0)


def test_long_run_reaches_at_least_95_percent_of_the_allowed_rate() -> None:
    lim, clock = limiter(190, 10, margin=0.25)
    n = 190 * 60
    for _ in range(n):
        lim.acquire()
    rate = n / clock.now
    assert rate >= 0.95 * 19.0
    # and never more than the limit inside any window of the server's 10 s
    # (exact: every span of 10.25 s holds at most 190 sends)


def test_no_window_ever_holds_more_than_the_limit() -> None:
    lim, clock = limiter(5, 1.0, margin=0.1)
    sends = []
    for i in range(200):
        clock.now += 0.03 * (i % 7)  # irregular arrivals
        lim.acquire()
        sends.append(clock.now)
    for i, t in enumerate(sends):
        in_window = [s for s in sends[: i + 1] if s > t - 1.1 + 1e-9]  # float noise
        assert len(in_window) <= 5


def test_daily_budget_is_silent_until_observed_and_stops_at_the_reserve() -> None:
    budget = DailyBudget(0.05, crm="hubspot")
    budget.check()  # nothing observed: no-op
    budget.observe(1000, 51)
    budget.check()  # 51 > 50
    budget.observe(None, 50)
    with pytest.raises(BudgetExhausted) as err:
        budget.check()
    msg = str(err.value)
    assert "50 of 1000" in msg
    assert "reserve of 50" in msg
    assert "midnight in the portal's time zone" in msg


def test_only_retriable_errors_are_retried() -> None:
    assert is_retriable(ServerError("x"))
    assert is_retriable(RateLimited("x"))
    assert not is_retriable(AuthError("x"))
    assert not is_retriable(CrmError("x"))
    assert not is_retriable(ValueError("x"))


def test_wait_uses_retry_after_then_default_then_capped_exponential() -> None:
    def default(_e: RateLimited) -> float:
        return 10.0

    kw = {"max_wait": 60.0, "default_wait": default, "jitter": False}
    assert wait_seconds(1, RateLimited("x", retry_after=2.5), **kw) == 2.5  # type: ignore[arg-type]
    assert wait_seconds(1, RateLimited("x"), **kw) == 10.0  # type: ignore[arg-type]
    assert [wait_seconds(a, ServerError("x"), **kw) for a in (1, 2, 3, 4)] == [1, 2, 4, 8]  # type: ignore[arg-type]
    assert wait_seconds(10, ServerError("x"), **kw) == 60.0  # type: ignore[arg-type]
    # equal jitter: between half and all of the base
    jittered = wait_seconds(
        3, ServerError("x"), max_wait=60, default_wait=default, jitter=True, rng=lambda: 0.5
    )
    assert jittered == 3.0


def test_retrying_retries_then_returns_and_reports_each_retry() -> None:
    clock = FakeClock()
    outcomes: list[Exception | str] = [RateLimited("slow down"), ServerError("oops"), "ok"]
    seen: list[tuple[str, float]] = []

    def fn() -> str:
        out = outcomes.pop(0)
        if isinstance(out, Exception):
            raise out
        return out

    result = retrying(
        fn,
        attempts=5,
        max_wait=60,
        default_wait=lambda _e: 10.0,
        on_retry=lambda e, w: seen.append((type(e).__name__, w)),
        sleep=clock.sleep,
        jitter=False,
    )
    assert result == "ok"
    assert seen == [("RateLimited", 10.0), ("ServerError", 2.0)]
    assert clock.sleeps == [10.0, 2.0]


def test_retrying_reraises_the_last_error_itself() -> None:
    clock = FakeClock()
    calls = 0

    def fn() -> None:
        nonlocal calls
        calls += 1
        raise ServerError(f"attempt {calls}")

    with pytest.raises(ServerError, match="attempt 3"):
        retrying(fn, attempts=3, max_wait=1, default_wait=lambda _e: 1, sleep=clock.sleep)
    assert calls == 3


def test_retrying_passes_fatal_errors_through_at_once() -> None:
    calls = 0

    def fn() -> None:
        nonlocal calls
        calls += 1
        raise AuthError("bad token")

    with pytest.raises(AuthError):
        retrying(fn, attempts=5, max_wait=1, default_wait=lambda _e: 1, sleep=lambda _s: None)
    assert calls == 1


def test_a_released_request_counts_from_its_response() -> None:
    """A request whose response came 0.4 s after its send may have reached the CRM
    that late: the request ``limit`` places after it waits for the response time."""
    lim, clock = limiter(2, 10, margin=0.25)
    lim.acquire()  # sent at t=0 ...
    clock.now = 0.4
    lim.release()  # ... answered at t=0.4
    lim.acquire()  # t=0.4, not released: counted from its send
    clock.now = 1.0
    # the first request now leaves the span at 0.4 + 10.25, not at 10.25
    assert lim.acquire() == pytest.approx(9.65)
    assert clock.now == pytest.approx(10.65)


def test_release_without_a_request_of_this_thread_changes_nothing() -> None:
    lim, clock = limiter(1, 10)
    lim.release()
    assert lim.acquire() == 0.0
    lim.release()
    lim.release()  # a second release of the same request is a no-op
    clock.now = 3.0
    assert lim.acquire() == pytest.approx(7.0)


def _in_flight_on_another_thread(
    lim: RollingWindowLimiter, answer: threading.Event
) -> threading.Thread:
    """A request acquired now on a thread of its own, released once ``answer`` is set."""
    acquired = threading.Event()

    def send() -> None:
        lim.acquire()
        acquired.set()
        answer.wait()
        lim.release()

    thread = threading.Thread(target=send)
    thread.start()
    assert acquired.wait(5)
    return thread


def test_a_request_in_flight_keeps_its_place_past_its_send_time() -> None:
    """A slow request sent at t=0 may reach the CRM at any moment until its answer:
    it must not leave the window 10 s after its send while it is still in flight."""
    lim, clock = limiter(2, 10)
    answer = threading.Event()
    slow = _in_flight_on_another_thread(lim, answer)  # sent at t=0, no answer yet
    lim.acquire()  # t=0
    clock.now = 1.0
    lim.release()  # answered at t=1
    clock.now = 5.0
    # in flight, the t=0 request stays; the answered one leaves at 1 + 10 = 11
    # (counted from its send, the t=0 request would have let this one out at 10)
    assert lim.acquire() == pytest.approx(6.0)
    assert clock.now == pytest.approx(11.0)
    clock.now = 12.0
    lim.release()  # answered at t=12
    # the slow one is still in flight: the answered one leaves at 12 + 10 = 22
    assert lim.acquire() == pytest.approx(10.0)
    clock.now = 30.0
    answer.set()  # the slow one is answered at t=30 ...
    slow.join(5)
    lim.release()  # ... and the one sent at t=22 too
    # both count from t=30 and fill the window until 40
    assert lim.acquire() == pytest.approx(10.0)


class _WatchedClock(FakeClock):
    """A fake clock that tells when the thread named ``waiter`` first read it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiter_read = threading.Event()

    def __call__(self) -> float:
        if threading.current_thread().name == "waiter":
            self.waiter_read.set()
        return self.now


def test_with_the_limit_in_flight_the_next_request_waits_for_an_answer() -> None:
    """No send time can make room while ``limit`` requests are in flight: the next
    one waits for an answer, then for the answered request to leave its window."""
    clock = _WatchedClock()
    lim = RollingWindowLimiter(1, 10, margin_seconds=0, clock=clock, sleep=clock.sleep)
    answer = threading.Event()
    slow = _in_flight_on_another_thread(lim, answer)  # sent at t=0
    waited: list[float] = []
    waiter = threading.Thread(target=lambda: waited.append(lim.acquire()), name="waiter")
    waiter.start()
    # it read t=0 under the limiter's lock; the release below takes that lock, so
    # it only runs once the waiter is waiting for an answer
    assert clock.waiter_read.wait(5)
    clock.now = 40.0
    answer.set()  # answered at t=40: in the window until 50
    slow.join(5)
    waiter.join(5)
    assert waited == [pytest.approx(50.0)]  # 40 s for the answer, 10 s for the window
    assert clock.now == pytest.approx(50.0)
