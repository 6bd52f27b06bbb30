"""Lanes: the threads the cycle's HiGHS solves run on, which the cycle can abandon.

A :class:`Lane` runs the jobs submitted to it in order on one daemon thread; a :class:`Ticket`
says when a job is done. If HiGHS does not come back in time the cycle answers anyway and
abandons the lane: the running HiGHS is asked to stop (:func:`cancel`) and the thread stops
without touching the engine again (:class:`Abandoned`). At interpreter exit every lane's HiGHS
is asked to stop and waited for. :meth:`optimizer.highs_direct.HighsDirect.execute` runs a solve
as its lane's current one.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import highspy

if TYPE_CHECKING:
    from optimizer.highs_direct import Prepared

# the solver's logger: these records keep the name they have always had
log = logging.getLogger("optimizer.highs_direct")


class Abandoned(BaseException):
    """Raised in a :class:`Lane`'s thread when a HiGHS run returns after the cycle abandoned the
    lane: the thread stops there and touches nothing more. A BaseException so that no ``except
    Exception`` on the way (the cycle's own "never raises" handlers) carries on with the work."""


_THIS_LANE = threading.local()  # .state: the _LaneState of the lane whose thread this is


@dataclass(eq=False)
class _LaneState:
    """What a lane's thread shares with the cycle. ``guard`` is held by the thread while it runs
    Python work and released while HiGHS runs (:meth:`running`): abandoning the lane takes it, so
    an abandoned thread never runs any more Python work on the engine's state."""

    guard: threading.Lock = field(default_factory=threading.Lock)
    abandoned: bool = False
    interrupted: bool = False  # the job running now is to stop (Lane.interrupt)
    job: object = None  # the Prepared HiGHS is running now
    ticket: "Ticket | None" = None  # the job's ticket

    @contextmanager
    def running(self, job: "Prepared"):
        self.job = job
        if self.interrupted:
            cancel(job.g)
        if self.ticket is not None:
            self.ticket.started.set()
        self.guard.release()
        try:
            yield
        finally:
            self.guard.acquire()
            self.job = None
            if self.abandoned:
                raise Abandoned


@dataclass(eq=False)
class Ticket:
    """One job handed to a :class:`Lane`: ``done`` is set when it returned (``value``) or
    raised (``error``)."""

    done: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)  # its first HiGHS run has started
    value: object = None
    error: BaseException | None = None

    def wait(self, until: float) -> bool:
        """Wait until the job is done or ``time.perf_counter()`` reaches ``until``; True if done."""
        return self.done.wait(max(0.0, until - time.perf_counter()))


class Lane:
    """One daemon thread running the cycle's jobs in order, which the cycle can abandon.

    Every HiGHS solve of the cycle runs on a lane (the optimisation and the fallback LP on one,
    the current point and the duals LP on another), never in the caller's thread: if HiGHS does
    not come back in time (it checks its time limit only now and then, and not at all in some
    phases), the cycle answers anyway and :meth:`abandon` s the lane. The abandoned thread is
    left to finish its HiGHS run (which is asked to stop through HiGHS's interrupt callback,
    :func:`cancel`), then stops without touching the engine again (:class:`Abandoned`); its
    HiGHS instances must not be used again (:meth:`optimizer.highs_direct.HighsDirect.forget`), and the engine takes a
    new lane for the next cycle. The thread is a daemon: a run that never returns does not keep
    the process from exiting."""

    def __init__(self, name: str):
        self.name = name
        self.state = _LaneState()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=_lane_loop, args=(self._queue, self.state), name=name, daemon=True)
        self._thread.start()
        _LIVE_LANES[self._thread] = (self._queue, self.state)
        self._finalizer = weakref.finalize(self, self._queue.put, None)  # the thread ends with its lane
        self.last: Ticket | None = None

    def submit(self, fn, *args, **kwargs) -> Ticket:
        """Run ``fn(*args, **kwargs)`` on the lane's thread after what was submitted before."""
        t = Ticket()
        self._queue.put((fn, args, kwargs, t))
        self.last = t
        return t

    def idle(self) -> bool:
        """Nothing submitted is still running or waiting."""
        return self.last is None or self.last.done.is_set()

    def interrupt(self) -> None:
        """Ask the job running now to stop: its current or next HiGHS run is cancelled (HiGHS's
        interrupt callback), the lane stays in use. Only for a job whose HiGHS instance is its
        own (an interrupted instance keeps its callback)."""
        st = self.state
        got = st.guard.acquire(timeout=0.005)  # the thread holds it only for short spells of Python work
        st.interrupted = True
        job = st.job
        if got:
            st.guard.release()
        if job is not None:
            cancel(job.g)

    def abandon(self, timeout: float = 0.02) -> None:
        """Give the lane up: its thread does nothing more on the engine after its current HiGHS
        run (asked to stop), and runs nothing queued. Waits at most ``timeout`` s for the thread
        to reach a HiGHS run or finish its Python work (it holds the guard only for short spells)."""
        st = self.state
        got = st.guard.acquire(timeout=timeout)
        st.abandoned = True
        job = st.job
        if got:
            st.guard.release()
        else:
            log.warning("lane %s abandoned while its thread was in Python work", self.name)
        if job is not None:
            cancel(job.g)
        self._queue.put(None)

    def shutdown(self, wait: bool = True) -> None:
        """End the thread after the jobs already submitted (``wait``: until then)."""
        self._queue.put(None)
        if wait:
            self._thread.join()


#: Every lane thread still alive, with its queue and state.
_LIVE_LANES: dict[threading.Thread, tuple[queue.SimpleQueue, _LaneState]] = {}
#: How long the process waits at exit for lane threads to leave HiGHS, s in all.
EXIT_WAIT_S = 10.0


@atexit.register
def _stop_lanes_at_exit() -> None:
    """At interpreter exit, ask every lane's running HiGHS to stop and wait (up to
    :data:`EXIT_WAIT_S` in all) for the lane threads to leave it. A daemon thread still inside
    HiGHS when the process tears down HiGHS's C++ runtime aborts the whole process ("terminate
    called without an active exception", exit status 134), e.g. a sampled re-solve of the last
    cycle of a study or a test run."""
    deadline = time.monotonic() + EXIT_WAIT_S
    for thread, (jobs, state) in list(_LIVE_LANES.items()):
        state.abandoned = True
        job = state.job
        if job is not None:
            cancel(job.g)
        jobs.put(None)
        thread.join(max(0.0, deadline - time.monotonic()))


def _lane_loop(jobs: queue.SimpleQueue, state: _LaneState) -> None:
    try:
        _lane_jobs(jobs, state)
    finally:
        _LIVE_LANES.pop(threading.current_thread(), None)


def _lane_jobs(jobs: queue.SimpleQueue, state: _LaneState) -> None:
    _THIS_LANE.state = state
    while True:
        item = jobs.get()
        if item is None:
            return
        fn, args, kwargs, ticket = item
        del item
        try:
            with state.guard:
                if state.abandoned:
                    return
                state.interrupted = False
                state.ticket = ticket
                ticket.value = fn(*args, **kwargs)
        except Abandoned:
            return
        except BaseException as exc:  # handed to whoever waits for the ticket
            ticket.error = exc
        finally:
            state.ticket = None
            ticket.done.set()
            fn = args = kwargs = ticket = None


def cancel(g: highspy.Highs) -> None:
    """Ask a running HiGHS instance to stop at its next simplex, IPM or MIP interrupt check
    (HiGHS's callback; presolve has none). Only an abandoned solve is cancelled: on the normal
    path no callback is active, as each would call into Python."""
    try:
        g.cancelSolve()
        g.HandleUserInterrupt = True
    except Exception:  # best effort: the lane is abandoned whatever HiGHS does
        log.warning("could not ask HiGHS to stop", exc_info=True)
