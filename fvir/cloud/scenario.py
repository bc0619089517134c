"""Cloud scenarios: who uses the pool, with which model, how much load and when.

A scenario is a TOML file (`scenarios/*.toml`, `fv cloud SCENARIO.toml`):

    name = "cnn-mix"
    workload = "cnn"              # "cnn", "rnn" or "mixed": reported as is
    hw = "paper-u200"             # preset or TOML file of the virtualized pool
    baseline_hw = "big-core"      # the TDM baseline's single big core (default big-core)
    duration_s = 60.0
    seed = 0
    policy = "private"            # public | private | manual | static
    baselines = ["tdm", "static"] # simulated on the same machine model
    resident_weights = true       # the linker keeps reused weights on chip (false: stream
                                  # them as compiled, for comparison; baselines too)
    [policy_options]              # per policy (fvir.cloud.policies)
    unit = "banks"

    [[tenants]]
    name = "alice"
    model = "vgg16"               # zoo name or ONNX / .ifp file (relative to the scenario)
    share = 0.25                  # public / static: fraction of the pool
    weight = 1.0                  # private: weight in the objective
    arrival = "poisson"           # "poisson" (rate per second), "closed" (always a request
                                  # waiting), or "trace" (a file of arrival times in seconds)
    load = [[0.0, 40.0], [30.0, 5.0]]   # poisson: [from time s, rate req/s] steps; closed:
                                  # optional [from time s, 1 or 0] steps (busy or idle)
    trace = "alice.txt"           # trace: one arrival time (s) per line
    start_s = 0.0                 # the tenant arrives (admission) ...
    stop_s = 60.0                 # ... and leaves
    cores = [[0.0, 2], [5.0, 4]]  # manual policy: [from time s, cores] steps

Every mistake is a one-line `UserError` naming the file and the key.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fvir.errors import UserError

Arrival = Literal["poisson", "closed", "trace"]
POLICIES = ("public", "private", "manual", "static")
BASELINES = ("tdm", "static")
WORKLOADS = ("cnn", "rnn", "mixed")


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
    trace: list[float] | None = None
    start_s: float = 0.0
    stop_s: float = math.inf
    cores: list[tuple[float, int]] = field(default_factory=list)

    def rate_at(self, t: float) -> float:
        """Offered load (req/s) at time t: inf for a closed loop, the step in force for
        Poisson, the trace's mean rate for a trace."""
        if self.arrival == "closed":
            return math.inf if self.step_at(t, 1.0) > 0 else 0.0
        if self.arrival == "trace":
            span = max(self.stop_s, 1e-9) if math.isfinite(self.stop_s) else 1.0
            return len(self.trace or []) / span
        return self.step_at(t, 0.0)

    def step_at(self, t: float, default: float) -> float:
        """The `load` step in force at time t (`default` before the first, or with none)."""
        value = default
        for start, v in self.load:
            if start <= t:
                value = v
        return value

    def arrivals(self, rng: np.random.Generator, end_s: float) -> np.ndarray | None:
        """Arrival times in [start_s, min(stop_s, end_s)), sorted; None for a closed loop.
        Poisson steps are sampled step by step (exponential gaps restart at a step change,
        which is exact for a Poisson process)."""
        stop = min(self.stop_s, end_s)
        if self.arrival == "closed":
            return None
        if self.arrival == "trace":
            times = np.asarray(self.trace or [], np.float64)
            return np.sort(times[(times >= self.start_s) & (times < stop)])
        parts = []
        steps = [*self.load, (math.inf, 0.0)]
        for (t0, rate), (t1, _) in pairwise(steps):
            lo, hi = max(t0, self.start_s), min(t1, stop)
            if rate <= 0 or hi <= lo:
                continue
            n = rng.poisson(rate * (hi - lo))
            parts.append(np.sort(rng.uniform(lo, hi, n)))
        return np.concatenate(parts) if parts else np.zeros(0)


@dataclass
class Scenario:
    name: str
    tenants: list[TenantSpec]
    duration_s: float
    hw: str = "paper-u200"
    baseline_hw: str = "big-core"
    workload: str = "cnn"
    seed: int = 0
    policy: str = "private"
    policy_options: dict[str, Any] = field(default_factory=dict)
    baselines: list[str] = field(default_factory=list)
    resident_weights: bool = True
    base_dir: Path = Path(".")

    def change_times(self) -> list[float]:
        """Times at which the offered load of some tenant steps (the private policy re-runs
        then), besides admissions and departures."""
        times = {t for spec in self.tenants for t, _ in spec.load if 0 < t < self.duration_s}
        times |= {t for spec in self.tenants for t, _ in spec.cores if 0 < t < self.duration_s}
        return sorted(times)


def _need(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise UserError(f"{where}: missing key '{key}'")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise UserError(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
    return value


def _steps(value: Any, where: str, key: str, cast: type) -> list[tuple[float, Any]]:
    if not isinstance(value, list) or not all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(x, int | float) for x in s)
            for s in value):
        raise UserError(f"{where}: '{key}' must be a list of [time_s, value] pairs")
    steps = [(float(t), cast(v)) for t, v in value]
    if [t for t, _ in steps] != sorted(t for t, _ in steps):
        raise UserError(f"{where}: '{key}' steps must be in time order")
    if any(v < 0 for _, v in steps):
        raise UserError(f"{where}: '{key}' values must not be negative")
    return steps


def _tenant(raw: Any, where: str, base: Path, policy: str) -> TenantSpec:
    if not isinstance(raw, dict):
        raise UserError(f"{where}: expected a table")
    known = {"name", "model", "share", "weight", "arrival", "load", "trace", "start_s",
             "stop_s", "cores"}
    if unknown := sorted(set(raw) - known):
        raise UserError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
    name = _need(raw, "name", str, where)
    where = f"{where} ('{name}')"
    model = _need(raw, "model", str, where)
    if Path(model).suffix in (".onnx", ".ifp"):
        model = str((base / model).resolve()) if not Path(model).is_absolute() else model
    spec = TenantSpec(name, model)
    if "share" in raw:
        share = float(_need(raw, "share", int | float, where))
        if not 0 < share <= 1:
            raise UserError(f"{where}: share must be in (0, 1], got {share}")
        spec.share = share
    spec.weight = float(raw.get("weight", 1.0))
    arrival = raw.get("arrival", "closed")
    if arrival not in ("poisson", "closed", "trace"):
        raise UserError(f"{where}: arrival must be poisson, closed or trace, got '{arrival}'")
    spec.arrival = arrival
    if arrival == "poisson":
        spec.load = _steps(_need(raw, "load", list, where), where, "load", float)
    if arrival == "closed" and "load" in raw:
        spec.load = _steps(raw["load"], where, "load", float)
    if arrival == "trace":
        path = base / _need(raw, "trace", str, where)
        try:
            spec.trace = [float(line) for line in path.read_text().split() if line]
        except (OSError, ValueError) as e:
            raise UserError(f"{where}: cannot read trace {path}: {e}") from None
    spec.start_s = float(raw.get("start_s", 0.0))
    spec.stop_s = float(raw.get("stop_s", math.inf))
    if spec.stop_s <= spec.start_s:
        raise UserError(f"{where}: stop_s must come after start_s")
    if "cores" in raw:
        spec.cores = _steps(raw["cores"], where, "cores", int)
    if policy in ("public", "static") and spec.share is None and policy == "public":
        raise UserError(f"{where}: the public policy needs a 'share'")
    if policy == "manual" and not spec.cores:
        raise UserError(f"{where}: the manual policy needs 'cores' steps")
    return spec


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"no such scenario file: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read scenario {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML: {e}") from None
    return scenario_from_dict(raw, path.name, path.parent)


def scenario_from_dict(raw: dict[str, Any], where: str = "scenario",
                       base: Path = Path(".")) -> Scenario:
    known = {"name", "workload", "hw", "baseline_hw", "duration_s", "seed", "policy",
             "policy_options", "baselines", "resident_weights", "tenants"}
    if unknown := sorted(set(raw) - known):
        raise UserError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(sorted(known))})")
    policy = raw.get("policy", "private")
    if policy not in POLICIES:
        raise UserError(f"{where}: policy must be one of {', '.join(POLICIES)}, got '{policy}'")
    workload = raw.get("workload", "cnn")
    if workload not in WORKLOADS:
        raise UserError(f"{where}: workload must be one of {', '.join(WORKLOADS)}")
    baselines = raw.get("baselines", [])
    if not isinstance(baselines, list) or any(b not in BASELINES for b in baselines):
        raise UserError(f"{where}: baselines must be a list drawn from {', '.join(BASELINES)}")
    duration = float(_need(raw, "duration_s", int | float, where))
    if duration <= 0:
        raise UserError(f"{where}: duration_s must be positive")
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
    resident = raw.get("resident_weights", True)
    if not isinstance(resident, bool):
        raise UserError(f"{where}: resident_weights must be true or false")
    return Scenario(name=str(raw.get("name", Path(where).stem)), tenants=tenants,
                    duration_s=duration, hw=str(raw.get("hw", "paper-u200")),
                    baseline_hw=str(raw.get("baseline_hw", "big-core")), workload=workload,
                    seed=int(raw.get("seed", 0)), policy=policy, policy_options=options,
                    baselines=list(baselines), resident_weights=resident, base_dir=base)
