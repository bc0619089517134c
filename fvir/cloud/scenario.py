"""Cloud scenarios: who uses the pool, with which model, how much load and when.

A scenario is a TOML file (`scenarios/*.toml`, `fv cloud SCENARIO.toml`):

    name = "cnn-mix"
    workload = "cnn"              # "cnn", "rnn" or "mixed": reported as is
    hw = "paper-u200"             # preset or TOML file of the virtualized pool
    baseline_hw = "big-core"      # the TDM baseline's single big core (default big-core)
    duration_s = 60.0             # simulated seconds (finite, at most 1e6)
    seed = 0                      # arrivals are drawn per tenant from (seed, tenant index)
    policy = "private"            # public | private | goodput | manual | static
    baselines = ["tdm", "static"] # simulated on the same machine model
    resident_weights = true       # the linker keeps reused weights on chip (false: stream
                                  # them as compiled, for comparison; baselines too)
    warmup_s = 0.0                # requests arriving in the first warmup_s and the last
    cooldown_s = 0.0              # cooldown_s are left out of every latency/SLO metric
    admission = false             # reject a request predicted to miss its SLO on arrival
    drop = false                  # drop a queued request that can no longer meet its SLO
    tdm_preempt = false           # TDM baseline: preempt at frame boundaries, earliest
                                  # deadline first (PREMA-style); default: whole inferences
    relink_ms = 1.0               # time a re-link is charged on the timeline (the measured
                                  # wall time is reported; a constant keeps runs reproducible)
    [policy_options]              # per policy (fvir.cloud.policies)
    unit = "banks"

    [[tenants]]
    name = "alice"
    model = "vgg16"               # zoo name or ONNX / .ifp file (relative to the scenario)
    share = 0.25                  # public / static: fraction of the pool
    weight = 1.0                  # private / goodput: weight in the objective
    arrival = "poisson"           # poisson | gamma | onoff | closed | trace | azure
                                  # (fvir.cloud.arrivals; closed: a request always waiting)
    load = [[0.0, 40.0], [30.0, 5.0]]   # poisson, gamma, onoff: [from time s, rate req/s]
                                  # steps (onoff: the rate while on); closed: optional
                                  # [from time s, 1 or 0] steps (busy or idle)
    cv = 4.0                      # gamma, azure: coefficient of variation of the gaps
    on_s = 2.0                    # onoff: mean on and off durations (exponential)
    off_s = 8.0
    trace = "alice.txt"           # trace: one arrival time (s) per line; azure: a CSV in
    function = "f00"              # the Azure Functions layout and the function's
    minute_s = 60.0               # HashFunction (or row index); simulated s per trace minute
    rate_scale = 1.0              # every arrival process: a factor on this tenant's rate
    slo_ms = 50.0                 # latency SLO, or: slo_scale = 5.0, a multiple of the
                                  # model's latency alone on the whole pool (resolved on the
                                  # pool and used unchanged by every baseline)
    start_s = 0.0                 # the tenant arrives (admission) ...
    stop_s = 60.0                 # ... and leaves
    cores = [[0.0, 2], [5.0, 4]]  # manual policy: [from time s, cores] steps

Every mistake is a one-line `UserError` naming the file and the key.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fvir.cloud import arrivals as arr
from fvir.errors import UserError, read_toml
from fvir.hw.presets import DEFAULT_HW

Arrival = Literal["poisson", "gamma", "onoff", "closed", "trace", "azure"]
ARRIVALS = ("poisson", "gamma", "onoff", "closed", "trace", "azure")
POLICIES = ("public", "private", "goodput", "manual", "static")
BASELINES = ("tdm", "static")
WORKLOADS = ("cnn", "rnn", "mixed")
MAX_DURATION_S = 1e6  # ~12 simulated days: beyond it a run would not end in useful time


@dataclass
class TenantSpec:
    """One tenant of a scenario (see the module docstring). `model` is a zoo name, a path, or
    (from Python) an already compiled `Package`."""

    name: str
    model: Any
    share: float | None = None
    weight: float = 1.0
    arrival: Arrival = "closed"
    load: list[tuple[float, float]] = field(default_factory=list)
    trace: list[float] | None = None  # trace: arrival times
    counts: np.ndarray | None = None  # azure: per-minute counts
    cv: float = 1.0
    on_s: float = 1.0
    off_s: float = 1.0
    minute_s: float = 60.0
    scale: float = 1.0  # rate_scale x the scenario's load scale
    slo_ms: float | None = None
    slo_scale: float | None = None
    start_s: float = 0.0
    stop_s: float = math.inf
    cores: list[tuple[float, int]] = field(default_factory=list)

    def rate_at(self, t: float) -> float:
        """Offered load (req/s) at time t: inf for a closed loop, the step in force (times
        the on fraction for onoff), a trace's mean rate (of its minute, for azure)."""
        if self.arrival == "closed":
            return math.inf if self.step_at(t, 1.0) > 0 else 0.0
        if self.arrival == "trace":
            times = self.trace or []
            span = (max(times) if times else 1.0) / self.scale
            return len(times) / max(span, 1e-9)
        if self.arrival == "azure":
            assert self.counts is not None
            m = min(max(int(t // self.minute_s), 0), len(self.counts) - 1)
            return float(self.counts[m]) * self.scale / self.minute_s
        rate = self.step_at(t, 0.0) * self.scale
        return rate * self.on_s / (self.on_s + self.off_s) if self.arrival == "onoff" else rate

    def cv_at(self, t: float) -> float:
        """Coefficient of variation of the gaps between arrivals (0 for a closed loop)."""
        if self.arrival == "closed":
            return 0.0
        if self.arrival in ("gamma", "azure"):
            return self.cv
        if self.arrival == "onoff":
            a, b = 1 / self.on_s, 1 / self.off_s
            return math.sqrt(1 + 2 * self.step_at(t, 0.0) * self.scale * a / (a + b) ** 2)
        if self.arrival == "trace" and self.trace and len(self.trace) > 2:
            gaps = np.diff(np.sort(self.trace))
            return float(gaps.std() / gaps.mean()) if gaps.mean() > 0 else 1.0
        return 1.0

    def step_at(self, t: float, default: float) -> float:
        """The `load` step in force at time t (`default` before the first, or with none)."""
        value = default
        for start, v in self.load:
            if start <= t:
                value = v
        return value

    def arrivals(self, rng: np.random.Generator, end_s: float) -> np.ndarray | None:
        """Arrival times in [start_s, min(stop_s, end_s)), sorted; None for a closed loop
        (fvir.cloud.arrivals)."""
        stop, start, where = min(self.stop_s, end_s), self.start_s, f"tenant '{self.name}'"
        match self.arrival:
            case "closed":
                return None
            case "poisson":
                return arr.poisson(rng, self.load, start, stop, self.scale, where)
            case "gamma":
                return arr.gamma(rng, self.load, self.cv, start, stop, self.scale, where)
            case "onoff":
                return arr.onoff(rng, self.load, self.on_s, self.off_s, start, stop,
                                 self.scale, where)
            case "trace":
                return arr.replay(np.asarray(self.trace or [], np.float64), start, stop,
                                  self.scale)
            case _:
                assert self.counts is not None
                return arr.per_minute(rng, self.counts, self.minute_s, self.cv, start, stop,
                                      self.scale, where)


@dataclass
class Scenario:
    name: str
    tenants: list[TenantSpec]
    duration_s: float
    hw: str = DEFAULT_HW
    baseline_hw: str = "big-core"
    workload: str = "cnn"
    seed: int = 0
    policy: str = "private"
    policy_options: dict[str, Any] = field(default_factory=dict)
    baselines: list[str] = field(default_factory=list)
    resident_weights: bool = True
    warmup_s: float = 0.0
    cooldown_s: float = 0.0
    admission: bool = False
    drop: bool = False
    tdm_preempt: bool = False
    relink_ms: float = 1.0
    base_dir: Path = Path(".")

    def change_times(self) -> list[float]:
        """Times at which the offered load of some tenant steps (the private policy re-runs
        then: load steps, manual core steps, a trace's minutes), besides admissions and
        departures."""
        times = {t for spec in self.tenants for t, _ in spec.load if 0 < t < self.duration_s}
        times |= {t for spec in self.tenants for t, _ in spec.cores if 0 < t < self.duration_s}
        for spec in self.tenants:  # a trace's rate changes every minute
            if spec.arrival == "azure" and spec.counts is not None:
                times |= {m * spec.minute_s for m in range(1, len(spec.counts))
                          if m * spec.minute_s < self.duration_s}
        return sorted(times)

    def window(self) -> tuple[float, float]:
        """The arrival-time window every latency and SLO metric counts."""
        return self.warmup_s, self.duration_s - self.cooldown_s

    def rng(self, index: int) -> np.random.Generator:
        """Tenant `index`'s arrival generator: independent of the other tenants."""
        return np.random.default_rng([self.seed, index])

    def scaled(self, factor: float) -> Scenario:
        """A copy with every tenant's offered load multiplied by `factor`."""
        out = copy.copy(self)
        out.tenants = [copy.copy(t) for t in self.tenants]
        for t in out.tenants:
            t.scale *= factor
        return out

    def set_duration(self, duration: Any, where: str) -> None:
        self.duration_s = _duration(duration, where)
        if self.warmup_s + self.cooldown_s >= self.duration_s:
            raise UserError(f"{where}: warmup_s + cooldown_s leave no time to measure")


def _need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise UserError(f"{where}: missing key '{key}'")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise UserError(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
    return value


def _number(table: dict[str, Any], key: str, where: str, default: float | None, *,
            lo: float = -math.inf, hi: float = math.inf, lo_open: bool = False,
            infinite: bool = False) -> float:
    """A finite number in [lo, hi] (lo excluded with `lo_open`; inf allowed by `infinite`)."""
    if key not in table:
        if default is None:
            raise UserError(f"{where}: missing key '{key}'")
        return default
    value = table[key]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise UserError(f"{where}: '{key}' must be a number, not {type(value).__name__}")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not infinite):
        raise UserError(f"{where}: '{key}' must be finite, got {x}")
    if x < lo or (lo_open and x == lo) or x > hi:
        bound = f"{'>' if lo_open else '>='} {lo:g}" + (f" and <= {hi:g}" if hi < math.inf else "")
        raise UserError(f"{where}: '{key}' must be {bound}, got {x:g}")
    return x


def _duration(value: Any, where: str) -> float:
    return _number({"duration_s": value}, "duration_s", where, None, lo=0.0, lo_open=True,
                   hi=MAX_DURATION_S)


def _steps(value: Any, where: str, key: str, cast: type) -> list[tuple[float, Any]]:
    if not isinstance(value, list) or not all(
            isinstance(s, list) and len(s) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in s)
            for s in value):
        raise UserError(f"{where}: '{key}' must be a list of [time_s, value] pairs")
    if not all(math.isfinite(x) for s in value for x in s):
        raise UserError(f"{where}: '{key}' times and values must be finite")
    steps = [(float(t), cast(v)) for t, v in value]
    if [t for t, _ in steps] != sorted(t for t, _ in steps):
        raise UserError(f"{where}: '{key}' steps must be in time order")
    if any(v < 0 for _, v in steps):
        raise UserError(f"{where}: '{key}' values must not be negative")
    return steps


def _bool(raw: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise UserError(f"{where}: {key} must be true or false")
    return value


TENANT_KEYS = {"name", "model", "share", "weight", "arrival", "load", "trace", "start_s",
               "stop_s", "cores", "cv", "on_s", "off_s", "function", "minute_s", "rate_scale",
               "slo_ms", "slo_scale"}


def _tenant(raw: Any, where: str, base: Path, policy: str) -> TenantSpec:
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a table")
    if unknown := sorted(set(raw) - TENANT_KEYS):
        raise UserError(f"{where}: unknown key '{unknown[0]}' "
                        f"(known: {', '.join(sorted(TENANT_KEYS))})")
    name = _need(raw, "name", str, where)
    where = f"{where} ('{name}')"
    model = _need(raw, "model", str, where)
    if Path(model).suffix in (".onnx", ".ifp"):
        model = str((base / model).resolve()) if not Path(model).is_absolute() else model
    spec = TenantSpec(name, model)
    if "share" in raw:
        spec.share = _number(raw, "share", where, None, lo=0.0, lo_open=True, hi=1.0)
    spec.weight = _number(raw, "weight", where, 1.0, lo=0.0, lo_open=True)
    arrival = raw.get("arrival", "closed")
    if arrival not in ARRIVALS:
        raise UserError(f"{where}: arrival must be one of {', '.join(ARRIVALS)}, "
                        f"got '{arrival}'")
    spec.arrival = arrival
    if arrival in ("poisson", "gamma", "onoff"):
        spec.load = _steps(_need(raw, "load", list, where), where, "load", float)
    if arrival == "closed" and "load" in raw:
        spec.load = _steps(raw["load"], where, "load", float)
    if arrival in ("gamma", "azure"):
        spec.cv = _number(raw, "cv", where, 1.0, lo=0.05, hi=100.0)
    if arrival == "onoff":
        spec.on_s = _number(raw, "on_s", where, None, lo=0.0, lo_open=True)
        spec.off_s = _number(raw, "off_s", where, None, lo=0.0, lo_open=True)
    if arrival == "trace":
        path = base / _need(raw, "trace", str, where)
        try:
            spec.trace = [float(line) for line in path.read_text().split() if line]
        except (OSError, ValueError) as e:
            raise UserError(f"{where}: cannot read trace {path}: {e}") from None
        if not all(math.isfinite(t) for t in spec.trace):
            raise UserError(f"{where}: trace {path} has a time that is not finite")
    if arrival == "azure":
        path = base / _need(raw, "trace", str, where)
        function = _need(raw, "function", str | int, where)
        spec.counts = arr.azure_counts(path, function, where)
        spec.minute_s = _number(raw, "minute_s", where, 60.0, lo=0.0, lo_open=True)
    spec.scale = _number(raw, "rate_scale", where, 1.0, lo=0.0, lo_open=True)
    if "slo_ms" in raw and "slo_scale" in raw:
        raise UserError(f"{where}: give slo_ms or slo_scale, not both")
    if "slo_ms" in raw:
        spec.slo_ms = _number(raw, "slo_ms", where, None, lo=0.0, lo_open=True)
    if "slo_scale" in raw:
        spec.slo_scale = _number(raw, "slo_scale", where, None, lo=0.0, lo_open=True)
    spec.start_s = _number(raw, "start_s", where, 0.0, lo=0.0)
    spec.stop_s = _number(raw, "stop_s", where, math.inf, lo=0.0, infinite=True)
    if spec.stop_s <= spec.start_s:
        raise UserError(f"{where}: stop_s must come after start_s")
    if "cores" in raw:
        spec.cores = _steps(raw["cores"], where, "cores", int)
    if policy == "public" and spec.share is None:
        raise UserError(f"{where}: the public policy needs a 'share'")
    if policy == "manual" and not spec.cores:
        raise UserError(f"{where}: the manual policy needs 'cores' steps")
    return spec


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    raw = read_toml(path, "scenario")
    return scenario_from_dict(raw, path.name, path.parent)


SCENARIO_KEYS = {"name", "workload", "hw", "baseline_hw", "duration_s", "seed", "policy",
                 "policy_options", "baselines", "resident_weights", "tenants", "warmup_s",
                 "cooldown_s", "admission", "drop", "tdm_preempt", "relink_ms"}


def scenario_from_dict(raw: dict[str, Any], where: str = "scenario",
                       base: Path = Path(".")) -> Scenario:
    if unknown := sorted(set(raw) - SCENARIO_KEYS):
        raise UserError(f"{where}: unknown key '{unknown[0]}' "
                        f"(known: {', '.join(sorted(SCENARIO_KEYS))})")
    policy = raw.get("policy", "private")
    if policy not in POLICIES:
        raise UserError(f"{where}: policy must be one of {', '.join(POLICIES)}, got '{policy}'")
    workload = raw.get("workload", "cnn")
    if workload not in WORKLOADS:
        raise UserError(f"{where}: workload must be one of {', '.join(WORKLOADS)}")
    baselines = raw.get("baselines", [])
    if not isinstance(baselines, list) or any(b not in BASELINES for b in baselines):
        raise UserError(f"{where}: baselines must be a list drawn from {', '.join(BASELINES)}")
    if "duration_s" not in raw:
        raise UserError(f"{where}: missing key 'duration_s'")
    duration = _duration(raw["duration_s"], where)
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise UserError(f"{where}: seed must be an integer in [0, 2^63), got {seed!r}")
    tenants_raw = _need(raw, "tenants", list, where)
    if not tenants_raw:
        raise UserError(f"{where}: no tenants")
    tenants = [_tenant(t, f"{where}: tenants[{i}]", base, policy)
               for i, t in enumerate(tenants_raw)]
    names = [t.name for t in tenants]
    if len(set(names)) != len(names):
        raise UserError(f"{where}: tenant names must be unique")
    options = raw.get("policy_options", {})
    if not isinstance(options, dict):
        raise UserError(f"{where}: policy_options must be a table")
    sc = Scenario(name=str(raw.get("name", Path(where).stem)), tenants=tenants,
                  duration_s=duration, hw=str(raw.get("hw", DEFAULT_HW)),
                  baseline_hw=str(raw.get("baseline_hw", "big-core")), workload=workload,
                  seed=seed, policy=policy, policy_options=options,
                  baselines=list(baselines),
                  resident_weights=_bool(raw, "resident_weights", where, True),
                  warmup_s=_number(raw, "warmup_s", where, 0.0, lo=0.0),
                  cooldown_s=_number(raw, "cooldown_s", where, 0.0, lo=0.0),
                  admission=_bool(raw, "admission", where, False),
                  drop=_bool(raw, "drop", where, False),
                  tdm_preempt=_bool(raw, "tdm_preempt", where, False),
                  relink_ms=_number(raw, "relink_ms", where, 1.0, lo=0.0, hi=1e6), base_dir=base)
    sc.set_duration(duration, where)
    return sc
