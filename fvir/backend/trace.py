"""Chrome / Perfetto trace of a simulated run (`fv run --trace FILE.json`).

The file is the Trace Event Format's JSON object form (`{"traceEvents": [...]}`), which
ui.perfetto.dev and chrome://tracing open as is. Layout:

- one process per core ("core 3 (tenant alice)"), sorted by core id;
- in it one thread per engine (LOAD, CONV, MISC, SAVE) whose slices are the instructions
  (name: the opcode; args: frame, layer and package instruction index), a "frames" thread
  whose slices are the frames (from the first start to the last end of their instructions;
  name: layer and frame id; a frame that overlaps the previous one, whose fence is still
  running, goes to a second "frames (2)" lane, since slices of one thread must nest) and a
  "dispatcher" thread with the frame fetches and the barrier waits (arrival to release);
- a host segment takes no cycles, so it is an instant ("ph": "i") on the dispatcher threads
  of its tenant's cores, at the barrier it follows, with its numpy wall time in the args;
- time stamps and durations in microseconds at the core clock ("ph": "X" complete events).

Built after the run from the schedule's per-item start and end arrays (vectorized per core),
so the simulation itself records nothing extra and costs the same with or without a trace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from fvir.backend.items import ENGINE_NAMES, FRAME_ITEM, SYNC_ITEM, InstrTable
from fvir.backend.report import RunReport
from fvir.isa.spec import Opcode

# Thread ids: frame lanes 0, 1, ...; engine e is ENGINE_TID + e; then the dispatcher.
FRAMES_TID, ENGINE_TID, DISPATCH_TID = 0, 10, 20
_OP_NAMES = {int(op): op.name for op in Opcode}


def _meta(pid: int, tid: int | None, kind: str, value: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"ph": "M", "pid": pid, "name": kind, "args": {}}
    if tid is not None:
        event["tid"] = tid
    event["args"]["name" if kind.endswith("_name") else "sort_index"] = value
    return event


def trace_events(report: RunReport, tables: Mapping[str, InstrTable]) -> list[dict[str, Any]]:
    """Every trace event of `report` (see the module docstring)."""
    us = 1.0 / report.pool.core.clock_mhz  # cycles -> microseconds
    events: list[dict[str, Any]] = []
    for ct in report.schedule.cores:
        p = ct.program
        pid = p.core
        tenant = report.cores[pid].tenant
        table = tables[tenant]
        exe = report.tenants[tenant].executable
        pkg = exe.package
        layer_of_frame = [pkg.layers[i].name for i in pkg.frames["layer"].tolist()]
        phase_names = ["+".join(pkg.layers[li].name for li in g)
                       for g in exe.prepared.phase_layers]
        events.append(_meta(pid, None, "process_name", f"core {pid} (tenant {tenant})"))
        events.append(_meta(pid, None, "process_sort_index", pid))
        threads = [(ENGINE_TID + e, n) for e, n in enumerate(ENGINE_NAMES)]
        for tid, name in [*threads, (DISPATCH_TID, "dispatcher")]:
            events.append(_meta(pid, tid, "thread_name", name))
            events.append(_meta(pid, tid, "thread_sort_index", tid))

        kind = np.asarray(p.kind)
        arg = np.asarray(p.arg)
        start, end = ct.start, ct.end
        # The frame each item belongs to: the latest FRAME marker at or before it.
        marker_pos = np.flatnonzero(kind == FRAME_ITEM)
        owner = np.searchsorted(marker_pos, np.arange(len(kind)), side="right") - 1
        frame_of = np.where(owner >= 0, arg[marker_pos[np.maximum(owner, 0)]], -1)
        ran = (kind < 4) & ~np.isnan(start) & ~np.isnan(end)
        for i in np.flatnonzero(ran).tolist():
            f, row = int(frame_of[i]), int(arg[i])
            events.append({
                "ph": "X", "pid": pid, "tid": ENGINE_TID + int(kind[i]),
                "name": _OP_NAMES.get(int(table.op[row]), "?"),
                "ts": float(start[i]) * us, "dur": float(end[i] - start[i]) * us,
                "args": {"frame": f, "layer": layer_of_frame[f], "instr": row},
            })
        # Frames: from the first start to the last end of their instructions. A frame's
        # first instructions may start before the previous frame's fence completes, so
        # overlapping frames go to further "frames" lanes (greedy: the first free lane).
        lane_end: list[float] = []
        bounds = np.append(marker_pos[1:], len(kind))
        for m, stop in zip(marker_pos.tolist(), bounds.tolist(), strict=True):
            f = int(arg[m])
            events.append({
                "ph": "X", "pid": pid, "tid": DISPATCH_TID, "name": "fetch",
                "ts": float(start[m]) * us, "dur": float(end[m] - start[m]) * us,
                "args": {"frame": f},
            })
            inside = ran[m + 1 : stop]
            if not inside.any():
                continue
            s = float(np.min(start[m + 1 : stop][inside]))
            t = float(np.max(end[m + 1 : stop][inside]))
            lane = next((k for k, e in enumerate(lane_end) if e <= s), len(lane_end))
            if lane == len(lane_end):
                lane_end.append(t)
                tid = FRAMES_TID + lane
                name = "frames" if lane == 0 else f"frames ({lane + 1})"
                events.append(_meta(pid, tid, "thread_name", name))
                events.append(_meta(pid, tid, "thread_sort_index", tid))
            lane_end[lane] = t
            events.append({
                "ph": "X", "pid": pid, "tid": FRAMES_TID + lane,
                "name": f"{layer_of_frame[f]} #{f}", "ts": s * us, "dur": (t - s) * us,
                "args": {"frame": f, "layer": layer_of_frame[f]},
            })
        releases = report.schedule.barriers.get(p.tenant, [])
        # Host phases take no cycles: an instant marks where numpy ran, with its wall time.
        host = report.tenants[tenant].host_layers
        for b, is_host in enumerate(exe.prepared.phase_host.tolist()):
            if is_host and b <= len(releases):
                names = [pkg.layers[li].name for li in exe.prepared.phase_layers[b]]
                events.append({
                    "ph": "i", "s": "t", "pid": pid, "tid": DISPATCH_TID,
                    "name": f"host: {'+'.join(names)}",
                    "ts": (releases[b - 1] if b else 0.0) * us,
                    "args": {"wall_ms": sum(host.get(n, 0.0) for n in names),
                             "note": "host time is wall clock, not in the cycles"},
                })
        for i in np.flatnonzero(kind == SYNC_ITEM).tolist():
            b = int(arg[i])
            if np.isnan(start[i]) or b >= len(releases):
                continue
            s, t = float(start[i]), releases[b]
            events.append({
                "ph": "X", "pid": pid, "tid": DISPATCH_TID, "name": f"barrier {b}",
                "ts": s * us, "dur": (t - s) * us, "args": {"after": phase_names[b]},
            })
    return events


def write_trace(report: RunReport, tables: Mapping[str, InstrTable], path: str | Path) -> int:
    """Write the trace of `report` to `path`; returns the number of events."""
    events = trace_events(report, tables)
    doc = {"traceEvents": events, "displayTimeUnit": "ns",
           "otherData": {"hw": report.pool.name, "mode": report.mode,
                         "clock_mhz": report.pool.core.clock_mhz, "cycles": report.cycles}}
    with open(path, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
    return len(events)
