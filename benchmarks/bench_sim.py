"""Benchmark: the simulator's speed and memory, and the simulated performance of VGG-16 and
ResNet-50 on paper-u200 next to a roofline of the configuration.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sim.py [--repeat 3] [--skip-rss] [--json]
    python benchmarks/bench_sim.py --validation   # the cycle model vs the published DPUs

1. Wall time: ResNet-50 int8 on the simulator (one core, numerics and timing; compile and
   link excluded) against onnxruntime fp32 on the float model, same input, medians of
   `--repeat` runs in this process, and their ratio (target <= 3x). onnxruntime with its
   default threading; the simulator with its default host threads (with two, the schedule
   is computed alongside the numerics). The simulator's int8 arithmetic is compiled C
   (`fvir/backend/_engine.c`) and uses no BLAS for CONV, so OPENBLAS_NUM_THREADS matters
   little; the command line above sets it to 1 for numpy's other calls, and the report
   states it. Also: the timing-only run (its cost per instruction) and `Machine.run_batch`
   over 8 inputs (the time per input of an accuracy evaluation).
2. Peak RSS of `fv run resnet50` (compile, link, simulate) in a subprocess (target 1 GiB).
3. Simulated cycles of VGG-16 and ResNet-50 on 1, 2, 4, 8 and 16 cores (timing-only runs:
   the cycles are those of the full run, tests/backend/test_machine.py checks it): latency,
   speed-up and scaling efficiency (target >= 75% at 16 cores for ResNet-50), MAC
   utilization of the whole model and of its convolution layers (target >= 85% on one core
   for VGG-16), next to the roofline: max(MACs / (cores x 256 MAC/cycle), DDR bytes moved /
   DDR bandwidth), where the bandwidth of n cores is min(n x the core's port bytes per
   cycle, banks those cores sit on x a bank's bytes per cycle): a core moves at most what
   its own port carries (`CoreConfig.port_bytes_per_cycle`), however idle its bank. For the
   single-core convolution layers it also gives two bounds from the instruction stream: the
   CONV engine's own busy cycles (what the instructions cost at 100% overlap) and the cycles
   if every step's CONVs of one input window (the per-channel requantization runs the
   compiler splits) were one instruction; see the report's "gaps". The scaling is repeated
   with every transfer capped at a 128-bit AXI port (16 B/cycle, half of the core's own
   port; `Machine(port_bytes_per_cycle=...)`). Last, a cross-check of the two derivations of
   the cycle model: on one core capped at the DDR share the compiler assumes (a quarter of a
   bank), the simulated cycles against the linker's closed-form prediction.
4. `--validation` (alone): timing-only runs of ResNet-50 and VGG-16 on the published DPU
   configurations B512..B4096 (one core each on one DDR4 interface) and on the boards of
   the Vitis AI model zoo (KV260, ZCU104, ZCU102, Ultra96): latency, frames per second
   (one inference over all cores, and one inference per core at once), utilization, DDR
   traffic per frame and per GOP; docs/validation.md compares them with the published
   figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np
from common import doc_summary

from fvir import zoo
from fvir.backend.machine import Machine, simulate_package
from fvir.compiler import compile_model
from fvir.hw import PAPER_U200, cost
from fvir.isa import Opcode
from fvir.isa.encoding import columns
from fvir.reference.int8 import run_host

CORES = (1, 2, 4, 8, 16)
PORT_BYTES = 16.0  # one 128-bit AXI port per cycle at the core clock
BATCH = 8  # input sets of the batch measurement


def median_time(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def wall_ratio(package, model, x: np.ndarray, repeat: int) -> dict[str, Any]:
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    for _ in range(3):  # onnxruntime's first runs set up its arena and kernels
        session.run(None, feed)
    ort_s = median_time(lambda: session.run(None, feed), max(repeat, 10))
    simulate_package(package, [x], PAPER_U200, cores=1, host=run_host)  # warm the caches
    reports = []
    sim_s = median_time(
        lambda: reports.append(simulate_package(package, [x], PAPER_U200, host=run_host)), repeat)
    wall = reports[-1].wall_s
    timing_s = median_time(
        lambda: simulate_package(package, [x], PAPER_U200, functional=False), repeat)
    # Many inputs through one linked executable (accuracy evaluation): one timing run, the
    # numerics of the sets on the host threads.
    machine = Machine(PAPER_U200, host=run_host)
    machine.load("t", machine.deploy("t", package, [0]), [x])
    rng = np.random.default_rng(1)
    sets = [[rng.standard_normal(x.shape, dtype=np.float32)] for _ in range(BATCH)]
    machine.run_batch("t", sets[:1])
    batch_s = median_time(lambda: machine.run_batch("t", sets), max(1, repeat // 2)) / BATCH
    return {
        "sim_s": sim_s, "onnxruntime_s": ort_s, "ratio": sim_s / ort_s,
        "sim_functional_s": wall["functional_s"], "sim_timing_s": wall["timing_s"],
        "timing_only_s": timing_s,
        "batch_s_per_input": batch_s, "batch_ratio": batch_s / ort_s, "batch": BATCH,
        "host_threads": machine.threads,
        "instructions": len(package.words), "frames": len(package.frames),
        "timing_us_per_instruction": timing_s / len(package.words) * 1e6,
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }


_CHILD = """
import resource
import sys
from fvir.tools.fv import main
code = main(["run", "resnet50", "--json"])
try:  # VmHWM: this process image's peak RSS (ru_maxrss would count the forked parent too)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
except OSError:
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("PEAK_KIB", hwm, file=sys.stderr)
sys.exit(code)
"""


def peak_rss() -> dict[str, Any]:
    """Peak RSS of `fv run resnet50` (compile, link, simulate), measured in the child."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"fv run resnet50 failed: {done.stderr.strip()}")
    kib = int(done.stderr.rsplit("PEAK_KIB", 1)[1].split()[0])
    return {"peak_rss_mib": kib / 1024, "wall_s": elapsed}


def conv_bounds(package) -> dict[str, float]:
    """Per layer: cycles of its CONVs as emitted, and if each window's CONVs were merged."""
    core = PAPER_U200.core
    idx, c = columns(package.words, Opcode.CONV)
    init_idx, init = columns(package.words, Opcode.CONVINIT)
    pos = np.searchsorted(init_idx, idx) - 1
    kh, kw = init["kernel_h"][pos], init["kernel_w"][pos]
    frame = np.searchsorted(package.frames["instr_start"].astype(np.int64), idx, "right") - 1
    layer = package.frames["layer"][frame].astype(np.int64)
    dw = c["depthwise"].astype(bool)

    def cycles(oc, sel=slice(None)):
        return np.where(dw[sel],
                        cost.dwconv_cycles(core, c["rows"][sel], c["cols"][sel], oc, kh[sel],
                                           kw[sel]),
                        cost.conv_cycles(core, c["rows"][sel], c["cols"][sel], c["ic"][sel], oc,
                                         kh[sel], kw[sel]))

    keys = np.stack([frame, c["in_addr"], c["rows"], c["cols"], c["ic"], dw], axis=1)
    _, first, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    oc_sum = np.bincount(group.ravel(), weights=c["oc"]).astype(np.int64)
    n = len(package.layers)
    emitted = np.bincount(layer, weights=cycles(c["oc"]), minlength=n)
    merged = np.bincount(layer[first], weights=cycles(oc_sum, first), minlength=n)
    return {"emitted": emitted, "merged": merged}


def scaling(name: str, package) -> dict[str, Any]:
    x = np.zeros(tuple(package.tensors[package.inputs[0]].shape), np.float32)
    peak = PAPER_U200.core.macs_per_cycle
    bank_bw = PAPER_U200.bank_bytes_per_cycle
    port_bw = PAPER_U200.core.port_bytes_per_cycle
    kinds = {layer.name: layer.kind for layer in package.layers}
    bounds = conv_bounds(package)
    rows = []
    for n in CORES:
        report = simulate_package(package, [x], PAPER_U200, cores=n, functional=False)
        (t,) = report.tenants.values()
        conv_cycles = sum(v for k, v in t.layer_cycles.items() if kinds.get(k) == "conv2d")
        conv_macs = sum(v for k, v in t.layer_macs.items() if kinds.get(k) == "conv2d")
        moved = float(sum(report.bank_bytes))
        banks = -(-n // PAPER_U200.cores_per_bank)
        ddr_bw = min(n * port_bw, banks * bank_bw)  # bytes per cycle: ports, then banks
        roof = max(t.macs / (peak * n), moved / ddr_bw)
        busy = {e: float(np.mean([c.busy[e] for c in report.cores.values()])) / t.cycles
                for e in ("LOAD", "CONV", "MISC", "SAVE")}
        rows.append({
            "cores": n, "cycles": t.cycles, "latency_ms": t.latency_ms,
            "mac_utilization": t.mac_utilization,
            "conv_mac_utilization": conv_macs / (conv_cycles * peak * n),
            "roofline_cycles": roof, "of_roofline": roof / t.cycles,
            "roofline_bytes_per_cycle": ddr_bw,
            "ddr_mb": moved / 1e6, "bank_utilization": max(report.bank_busy) / t.cycles,
            "engine_busy": busy,
        })
    base = rows[0]["cycles"]
    for r in rows:
        r["speedup"] = base / r["cycles"]
        r["efficiency"] = r["speedup"] / r["cores"]
    # The same with every transfer capped at one 128-bit AXI port at the core clock (16 bytes
    # per cycle; the DPU's data ports), so that a core alone cannot take a whole bank.
    port = {n: simulate_package(package, [x], PAPER_U200, cores=n, functional=False,
                                port_bytes_per_cycle=PORT_BYTES).cycles for n in CORES}
    port_rows = {n: {"cycles": c, "efficiency": port[1] / c / n} for n, c in port.items()}
    conv_layers = [i for i, layer in enumerate(package.layers) if layer.kind == "conv2d"]
    one = simulate_package(package, [x], PAPER_U200, cores=1, functional=False)
    (t1,) = one.tenants.values()
    conv_phase = sum(t1.layer_cycles[package.layers[i].name] for i in conv_layers)
    conv_macs = sum(t1.layer_macs[package.layers[i].name] for i in conv_layers)
    gaps = {
        "conv_phase_cycles": conv_phase,
        "conv_engine_cycles": float(bounds["emitted"][conv_layers].sum()),
        "merged_run_cycles": float(bounds["merged"][conv_layers].sum()),
        "ideal_cycles": conv_macs / peak,
    }
    gaps["utilization"] = gaps["ideal_cycles"] / conv_phase
    gaps["bound_emitted"] = gaps["ideal_cycles"] / gaps["conv_engine_cycles"]
    gaps["bound_merged"] = gaps["ideal_cycles"] / gaps["merged_run_cycles"]
    gaps["overlap_efficiency"] = gaps["conv_engine_cycles"] / conv_phase
    # Cross-check: under the DDR share the compiler's frame costs assume (a quarter of a
    # bank per core), the event-driven schedule should match the linker's prediction.
    capped = simulate_package(package, [x], PAPER_U200, functional=False,
                              port_bytes_per_cycle=cost.core_bytes_per_cycle(PAPER_U200))
    (tc,) = capped.tenants.values()
    agreement = {"simulated": tc.cycles, "predicted": tc.executable.predicted_cycles,
                 "ratio": tc.cycles / tc.executable.predicted_cycles}
    return {"model": name, "macs": rows[0] and t1.macs, "instructions": len(package.words),
            "frames": len(package.frames), "rows": rows, "single_core_conv_gaps": gaps,
            "cost_model_agreement": agreement, "port_capped": port_rows}


# The published Vitis AI DPU configurations (PG338 Table 8: PP x ICP x OCP) and the boards
# whose model-zoo figures docs/validation.md compares with. Buffers: the DPU-TRD's UltraRAM
# banks (img / weights / bias) of B512 (2/9/1) and B4096 (5/17/1), 32 KiB each; the
# configurations between take B4096's (an assumption, stated in the doc). DDR: one PS DDR4
# 64-bit interface shared by every core (KV260, ZCU104: DDR4-2400 = 19.2 GB/s; ZCU102:
# DDR4-2666 = 21.3 GB/s); the port: two 128-bit AXI data masters (32 B/cycle).
DPU_ARCHS = {"B512": (4, 8, 8), "B1024": (8, 8, 8), "B1600": (8, 10, 10),
             "B2304": (8, 12, 12), "B3136": (8, 14, 14), "B4096": (8, 16, 16)}
VALIDATION_RUNS = (  # (arch, cores, clock MHz, DDR GB/s, board)
    *((a, 1, 300.0, 19.2, "1 core, one 19.2 GB/s DDR4") for a in DPU_ARCHS),
    ("B1600", 1, 287.0, 19.2, "Ultra96"),
    ("B4096", 1, 300.0, 19.2, "KV260"),
    ("B4096", 2, 300.0, 19.2, "ZCU104"),
    ("B4096", 3, 281.0, 21.3, "ZCU102"),
    ("B512", 2, 300.0, 19.2, "2 cores, one DDR4"),
    ("B512", 4, 300.0, 19.2, "4 cores, one DDR4"),
)


def dpu_pool(arch: str, cores: int, clock_mhz: float, ddr_gbps: float):
    from fvir.hw.config import CoreConfig, PoolConfig
    from fvir.hw.presets import URAM_BYTES

    pp, icp, ocp = DPU_ARCHS[arch]
    img, wgt = (2, 9) if arch == "B512" else (5, 17)
    core = CoreConfig(pp=pp, icp=icp, ocp=ocp, clock_mhz=clock_mhz,
                      fmap_buffer_bytes=img * URAM_BYTES, weight_buffer_bytes=wgt * URAM_BYTES,
                      bias_buffer_bytes=URAM_BYTES, port_bytes_per_cycle=32.0)
    return PoolConfig(name=f"{arch}x{cores}@{clock_mhz:g}", core=core, num_cores=cores,
                      num_banks=1, cores_per_bank=cores, bank_bandwidth_gbps=ddr_gbps,
                      bank_bytes=1 << 32)


def validation(progress: Any = None) -> list[dict[str, Any]]:
    """Timing-only runs of ResNet-50 and VGG-16 on the DPU configurations above: latency,
    fps, utilization (2 x MACs per cycle over ops/cycle x cores), DDR MB per frame and per
    GOP, and the average DDR bandwidth at that frame rate. `progress(row)` sees every row as
    it is done. One package at a time (VGG-16's weights are large)."""
    rows = []
    for name in ("resnet50", "vgg16"):
        model = zoo.build(name)
        configs: dict[tuple[str, float], list[tuple[int, float, str]]] = {}
        for arch, n, clock, ddr, board in VALIDATION_RUNS:
            configs.setdefault((arch, clock), []).append((n, ddr, board))
        for (arch, clock), runs in configs.items():
            package = compile_model(model, dpu_pool(arch, 1, clock, 19.2))
            x = np.zeros(tuple(package.tensors[package.inputs[0]].shape), np.float32)
            for n, ddr, board in runs:
                pool = dpu_pool(arch, n, clock, ddr)
                report = simulate_package(package, [x], pool, cores=n, functional=False)
                (t,) = report.tenants.values()
                ms = t.cycles / (clock * 1e3)
                fps = 1e3 / ms  # one inference in flight: the latency's rate
                # As the model zoo's multi-thread figures run: one inference per core at
                # once, sharing the DDR (n tenants of one core each).
                machine = Machine(pool)  # timing only
                for c in range(n):
                    machine.load(f"t{c}", machine.deploy(f"t{c}", package, [c]), [x])
                together = machine.run(functional=False)
                fps_all = n * clock * 1e6 / together.cycles
                gop = 2 * t.macs / 1e9
                moved = float(sum(report.bank_bytes))
                row = {
                    "model": name, "arch": arch, "cores": n, "clock_mhz": clock,
                    "ddr_gbps": ddr, "board": board, "cycles": t.cycles, "latency_ms": ms,
                    "fps_one_inference": fps, "fps_per_core_inference": fps_all, "gop": gop,
                    "utilization": t.mac_utilization,
                    "utilization_per_core_inference": fps_all * gop / (
                        pool.core.ops_per_cycle * clock * 1e6 * n / 1e9),
                    "ddr_mb_per_frame": moved / 1e6, "ddr_mb_per_gop": moved / 1e6 / gop,
                    "ddr_gbps_at_fps": moved * fps / 1e9,
                }
                rows.append(row)
                if progress is not None:
                    progress(row)
            del package
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--validation", action="store_true",
                    help="only the cycle model on the published DPU configurations "
                         "(docs/validation.md)")
    args = ap.parse_args()
    if args.validation:
        if args.json:
            print(json.dumps(validation(), indent=2, default=float))
            return
        print(f"{'model':9} {'arch':6} {'cores':>5} {'MHz':>4} {'board':28} {'ms':>8} "
              f"{'fps':>7} {'util':>5} {'fps/n':>7} {'util':>5} {'MB/fr':>7} {'MB/GOP':>6} "
              f"{'GB/s':>5}", flush=True)
        validation(lambda r: print(
            f"{r['model']:9} {r['arch']:6} {r['cores']:>5} {r['clock_mhz']:>4.0f} "
            f"{r['board']:28} {r['latency_ms']:>8.2f} {r['fps_one_inference']:>7.1f} "
            f"{r['utilization']:>5.1%} {r['fps_per_core_inference']:>7.1f} "
            f"{r['utilization_per_core_inference']:>5.1%} {r['ddr_mb_per_frame']:>7.1f} "
            f"{r['ddr_mb_per_gop']:>6.2f} {r['ddr_gbps_at_fps']:>5.2f}", flush=True))
        return
    out: dict[str, Any] = {"hw": PAPER_U200.summary()}
    packages = {}
    for name in ("resnet50", "vgg16"):
        model = zoo.build(name)
        start = time.perf_counter()
        packages[name] = (model, compile_model(model, PAPER_U200))
        out.setdefault("compile_s", {})[name] = time.perf_counter() - start
    model, package = packages["resnet50"]
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224), dtype=np.float32)
    out["wall"] = wall_ratio(package, model, x, args.repeat)
    if not args.skip_rss:
        out["rss"] = peak_rss()
    out["scaling"] = [scaling(name, packages[name][1]) for name in ("vgg16", "resnet50")]
    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return
    print(out["hw"])
    w = out["wall"]
    print(f"\n== ResNet-50 int8 simulation vs onnxruntime fp32 (OPENBLAS_NUM_THREADS="
          f"{w['openblas_threads']})")
    print(f"sim {w['sim_s']:.3f} s (numerics {w['sim_functional_s']:.3f} s, timing "
          f"{w['sim_timing_s']:.3f} s, {w['host_threads']} host thread(s)); onnxruntime "
          f"{w['onnxruntime_s'] * 1e3:.1f} ms; ratio {w['ratio']:.1f}x (target <= 3x)")
    print(f"timing only: {w['timing_only_s']:.3f} s = {w['timing_us_per_instruction']:.2f} us x "
          f"{w['instructions']} instructions")
    print(f"run_batch of {w['batch']} inputs: {w['batch_s_per_input']:.3f} s per input, "
          f"{w['batch_ratio']:.1f}x onnxruntime")
    if "rss" in out:
        print(f"peak RSS of `fv run resnet50`: {out['rss']['peak_rss_mib']:.0f} MiB "
              f"(target <= 1024), {out['rss']['wall_s']:.1f} s")
    for s in out["scaling"]:
        print(f"\n== {s['model']}: {s['macs'] / 1e9:.2f} GMAC, {s['frames']} frames, "
              f"{s['instructions']} instructions")
        print(f"{'cores':>5} {'cycles':>11} {'ms':>8} {'speedup':>7} {'eff':>5} {'MAC%':>5} "
              f"{'conv%':>5} {'roofline':>11} {'%roof':>5} {'DDR MB':>7} {'bank%':>5} "
              f"{'L/C/M/S busy %':>16}")
        for r in s["rows"]:
            b = r["engine_busy"]
            print(f"{r['cores']:>5} {r['cycles']:>11} {r['latency_ms']:>8.2f} "
                  f"{r['speedup']:>7.2f} {r['efficiency']:>5.0%} {r['mac_utilization']:>5.0%} "
                  f"{r['conv_mac_utilization']:>5.0%} {r['roofline_cycles']:>11.0f} "
                  f"{r['of_roofline']:>5.0%} {r['ddr_mb']:>7.1f} {r['bank_utilization']:>5.0%} "
                  f"{b['LOAD']:>4.0%}/{b['CONV']:.0%}/{b['MISC']:.0%}/{b['SAVE']:.0%}")
        g = s["single_core_conv_gaps"]
        print(f"  1 core, conv layers: {g['utilization']:.1%} MAC utilization; the CONVs as "
              f"emitted cap it at {g['bound_emitted']:.1%} (engines overlap "
              f"{g['overlap_efficiency']:.1%} of the conv phases); one CONV per input window "
              f"would cap it at {g['bound_merged']:.1%}")
        pc = s["port_capped"]
        print("  transfers capped at a 128-bit port (16 B/cycle): " + ", ".join(
            f"{n}: {r['cycles']} ({r['efficiency']:.0%})" for n, r in pc.items()))
        a = s["cost_model_agreement"]
        print(f"  1 core at the compiler's DDR share (16 B/cycle): simulated {a['simulated']} "
              f"cycles, linker's prediction {a['predicted']} ({a['ratio']:.4f}x)")


if __name__ == "__main__":
    main()
