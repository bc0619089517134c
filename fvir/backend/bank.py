"""One DDR bank of the cycle model: max-min fair sharing of its bandwidth among the transfers
in flight, under per-core port caps.

1. A core reaches DDR through its own port (`core.port_bytes_per_cycle`), shared by that
   core's transfers in flight (its LOAD and SAVE engines); an optional cap applies to every
   transfer (experiments).
2. The bank's bandwidth is water-filled: each transfer gets an equal share of what is left
   unless its cap is smaller, smallest caps first, ties in join order.
3. Rates are recomputed when a transfer joins or leaves (the fluid limit of a round-robin
   burst arbiter, no burst size); completion times follow from bytes left / rate.
"""

from __future__ import annotations

_INF = float("inf")


class Bank:
    """One DDR bank serving its transfers by max-min fair sharing under per-core port caps
    (module docstring, "DDR").

    The transfers in flight are kept in the order they joined, which is also the order of
    their sequence numbers (`simulate` numbers them as they join), so that order breaks ties.
    When every transfer has the same cap (the common case: each core has one transfer in
    flight, or each has two), the water-filling depends only on the number of transfers and
    the cap, so its rates are computed once per pair and reused (the same float operations in
    the same order, so the same rates to the bit). The hot paths avoid comprehensions (a
    function call each in CPython 3.11) for the few transfers a bank has."""

    __slots__ = ("active", "busy", "bw", "cap", "fills", "moved", "per_core", "port", "rates",
                 "t", "version")

    def __init__(self, bytes_per_cycle: float, cap: float | None,
                 port: float | None = None) -> None:
        self.bw = bytes_per_cycle
        self.cap = cap  # optional extra cap on every transfer (an experiment's override)
        self.port = port  # a core's port bandwidth, shared by its transfers in flight
        self.t = 0.0  # time of the last update
        # Transfers in flight: [bytes left, seq, payload, bytes]; payload[0] is the core.
        self.active: list[list] = []
        self.rates: tuple[float, ...] = ()  # one per transfer in flight, in the same order
        self.per_core: dict[int, int] = {}  # core -> its transfers in flight
        self.fills: dict[tuple[int, float], tuple[float, ...]] = {}  # (n, cap) -> rates
        self.version = 0  # bumped on every change: older completion events are stale
        self.busy = 0.0  # cycles with at least one transfer in flight
        self.moved = 0.0  # bytes served

    def _rerate(self) -> None:
        """Water-filling: every transfer gets an equal share of what is left of the bank,
        unless its cap (its core's port / the core's transfers in flight, and the override)
        is smaller; what a capped transfer leaves goes to the others (smallest cap first,
        ties in join order)."""
        n, port, per_core = len(self.active), self.port, self.per_core
        if port is None:
            c = _INF
        elif len(per_core) == n:  # one transfer per core (or none)
            c = port / 1
        else:
            counts = set(per_core.values())
            if len(counts) > 1:
                self.rates = self._fill([port / per_core[item[2][0]] for item in self.active])
                return
            c = port / counts.pop()
        cap = self.cap
        if cap is not None and cap < c:
            c = cap
        key = (n, c)
        rates = self.fills.get(key)
        if rates is None:
            rates = self.fills[key] = self._fill([c] * n)
        self.rates = rates

    def _fill(self, caps: list[float]) -> tuple[float, ...]:
        """The water-filling rates of transfers with the port caps `caps` (in join order)."""
        cap = self.cap
        if cap is not None:
            caps = [cap if cap < c else c for c in caps]
        n = len(caps)
        rates = [0.0] * n
        left = self.bw
        for i in sorted(range(n), key=caps.__getitem__):  # stable: ties in join order
            c = caps[i]
            share = left / n
            r = share if share < c else c  # min(c, share)
            rates[i] = r
            left -= r
            n -= 1
        return tuple(rates)

    def update(self, now: float) -> None:
        active = self.active
        if active:
            dt = now - self.t
            moved = self.moved
            for item, r in zip(active, self.rates, strict=False):  # same length
                d = dt * r
                item[0] -= d
                moved += d
            self.moved = moved
            self.busy += dt
        self.t = now

    def join(self, now: float, nbytes: int, seq: int, payload: tuple) -> None:
        """Add a transfer; `seq` must be larger than those of the transfers in flight."""
        self.update(now)
        self.active.append([float(nbytes), seq, payload, float(nbytes)])
        core = payload[0]
        self.per_core[core] = self.per_core.get(core, 0) + 1
        self._rerate()
        self.version += 1

    def next_done(self) -> float:
        """When the first active transfer ends (the bank must have one)."""
        active, rates = self.active, self.rates
        if len(active) == 1:
            left = active[0][0]
            return self.t + (0.0 if left < 0.0 else left) / rates[0]  # max(left, 0.0) / r
        first: float | None = None
        for item, r in zip(active, rates, strict=False):
            left = item[0]
            due = (0.0 if left < 0.0 else left) / r
            if first is None or due < first:  # the first smallest, as `min` picks it
                first = due
        assert first is not None
        return self.t + first

    def _remove(self, kept: list[list], gone: list[list]) -> None:
        self.active = kept
        per_core = self.per_core
        for item in gone:
            core = item[2][0]
            left = per_core[core] - 1
            if left:
                per_core[core] = left
            else:
                del per_core[core]
        self._rerate()

    def pop_done(self, now: float) -> list[tuple]:
        """Advance to `now` and remove the transfers that have finished (payloads, in the
        order they joined)."""
        self.update(now)
        self.version += 1
        # Float residue of the per-event subtraction, in bytes and in time: a transfer due
        # within a relative 1e-9 of `now` is done (else `now` + its tiny rest could round to
        # `now` and the completion event would repeat forever).
        t_eps = 1e-9 * (1.0 + now)
        active = self.active
        if len(active) == 1:
            item = active[0]
            left = item[0]
            if left <= 1e-9 * (1.0 + item[3]) or left <= self.rates[0] * t_eps:
                self.active, self.rates = [], ()
                self.per_core.clear()
                return [item[2]]
            return []
        done, kept = [], []
        for item, r in zip(active, self.rates, strict=False):
            left = item[0]
            if left <= 1e-9 * (1.0 + item[3]) or left <= r * t_eps:
                done.append(item)
            else:
                kept.append(item)
        if not done:
            return []
        self._remove(kept, done)
        payloads = []
        for item in done:
            payloads.append(item[2])
        return payloads

    def drop(self, now: float, cores: set[int]) -> None:
        """Abort the transfers of `cores` (a faulted tenant)."""
        self.update(now)
        kept = [item for item in self.active if item[2][0] not in cores]
        if len(kept) != len(self.active):
            self._remove(kept, [item for item in self.active if item[2][0] in cores])
            self.version += 1
