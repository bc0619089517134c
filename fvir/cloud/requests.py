"""One tenant's requests on numpy arrays, and the deadline-aware decisions taken on them.

A request `i` has an arrival time, a deadline (arrival + the tenant's SLO; inf without one),
an outcome (`PENDING`, `DONE`, `DROPPED`, `REJECTED`) and, once done, a finish time. Open-loop
arrivals are known up front (`fvir.cloud.arrivals`); a closed loop issues its next request
when it can start one (`issue`), so its arrays grow. Every design (the pool, TDM, static)
serves a tenant through one of these, so the metrics are computed the same way for all.

The serving loop asks `next(now, service_s)` for the request to start now:

1. Admission (`admission`): the requests that arrived since the last call are decided in
   arrival order when the tenant is next idle (`now`, the first moment one of them could
   start): predicted finish = max(arrival, when the admitted requests still queued will be
   done, starting from now or the end of a re-link in progress) + `service_s` (the service
   time alone on the tenant's cores: co-runners on its DDR banks can make it longer, which
   is why the backlog is recomputed from the queue at every decision instead of trusted);
   a request predicted to finish after its deadline is rejected. `predicted` keeps the
   prediction, so the never-admits-a-late-prediction property can be checked.
2. Queue dropping (`drop`): a queued request that would finish after its deadline even if
   started now (now + `service_s` > deadline) is dropped.
3. The first remaining request (first come, first served) is returned.

Closed loops are not subject to 1 and 2 (a closed loop is a saturating client: a rejected
request would be re-issued at once).
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

PENDING, DONE, DROPPED, REJECTED = 0, 1, 2, 3


class Requests:
    def __init__(self, arrival: np.ndarray | None, slo_s: float, *, admission: bool = False,
                 drop: bool = False) -> None:
        self.closed = arrival is None
        self.arrival = np.zeros(256) if arrival is None else np.asarray(arrival, np.float64)
        self.n = 0 if arrival is None else len(self.arrival)  # requests issued so far
        self.slo_s = slo_s
        self.admission = admission and not self.closed
        self.drop = drop and not self.closed
        self.finish = np.full(len(self.arrival), np.nan)
        self.outcome = np.zeros(len(self.arrival), np.int8)
        self.predicted = np.full(len(self.arrival), np.nan)
        # The arrival times as Python floats too: the serving loop reads them one at a time,
        # which a list does several times faster than numpy scalars.
        self.times: list[float] = [] if arrival is None else self.arrival.tolist()
        self.head = 0  # first request not yet started, dropped or rejected
        self.decided = 0  # requests admission has looked at
        self.backlog_end = -math.inf  # predicted finish of the last admitted request

    @property
    def deadline(self) -> np.ndarray:
        return self.arrival[: self.n] + self.slo_s

    def issue(self, when: float) -> None:
        """A closed loop's next request, issued at `when`."""
        if self.n == len(self.arrival):
            grow = len(self.arrival)
            self.arrival = np.concatenate([self.arrival, np.zeros(grow)])
            self.finish = np.concatenate([self.finish, np.full(grow, np.nan)])
            self.outcome = np.concatenate([self.outcome, np.zeros(grow, np.int8)])
            self.predicted = np.concatenate([self.predicted, np.full(grow, np.nan)])
        self.arrival[self.n] = when
        self.times.append(when)
        self.n += 1

    def arrived(self, now: float) -> int:
        """How many requests have arrived by `now`."""
        if self.closed:
            return self.n
        return bisect_right(self.times, now, self.head)  # all before head have arrived

    def next_arrival(self) -> float:
        """Arrival time of the first request not yet started (inf if none)."""
        return self.times[self.head] if self.head < self.n else math.inf

    def admit(self, i: int, service_s: float, backlog_end: float) -> float:
        """Decide request i (step 1) given the predicted finish of the work admitted before
        it; returns that prediction updated."""
        pred = max(float(self.arrival[i]), backlog_end) + service_s
        self.predicted[i] = pred
        self.decided = i + 1
        if pred > self.arrival[i] + self.slo_s:
            self.outcome[i] = REJECTED
            return backlog_end
        return pred

    def queued_work(self, service_s: float) -> float:
        """Service seconds of the admitted requests not started yet."""
        waiting = self.outcome[self.head : self.decided]
        return float(np.count_nonzero(waiting != REJECTED)) * service_s

    def _admit(self, upto: int, service_s: float, now: float, free_at: float) -> None:
        # The server is idle now: what it will do is known, whatever was predicted before.
        self.backlog_end = max(now, free_at) + self.queued_work(service_s)
        for i in range(self.decided, upto):
            self.backlog_end = self.admit(i, service_s, self.backlog_end)

    def next(self, now: float, service_s: float, free_at: float = -math.inf) -> int | None:
        """The request to start at `now` (module docstring), or None if none is waiting.
        `free_at`: the tenant cannot start anything before then (a re-link in progress)."""
        if not (self.admission or self.drop):  # the common case, first come first served
            head = self.head
            return head if head < self.n and self.times[head] <= now else None
        upto = self.arrived(now)
        if self.admission and upto > self.decided:
            self._admit(upto, service_s, now, free_at)
        while self.head < upto:
            i = self.head
            if self.outcome[i] == REJECTED:
                self.head += 1
            elif self.drop and now + service_s > self.times[i] + self.slo_s:
                self.outcome[i] = DROPPED
                self.head += 1
            else:
                return i
        return None

    def start(self, i: int) -> None:
        self.head = i + 1

    def done(self, i: int, when: float) -> None:
        self.finish[i] = when
        self.outcome[i] = DONE

    def trim(self) -> None:
        """Cut a closed loop's arrays to the requests issued."""
        for name in ("arrival", "finish", "outcome", "predicted"):
            setattr(self, name, getattr(self, name)[: self.n])
