"""Benchmark: one BERT-base-sized encoder layer on 1..16 cores of `paper-u200` and on
`big-core`, with the cycle model's roofline bound beside each figure.

    python benchmarks/bench_transformer.py [--seq 128] [--dim 768] [--heads 12] [--ffn 3072]
                                           [--cores 1,2,4,8,16] [--json]

The layer is the zoo's BERT layer (`fvir.zoo.transformer`: Q/K/V and output projections as
MatMul + Add over all positions, head split by Reshape/Transpose, Q·K^T, Softmax, attention·V,
LayerNormalization, an erf-GELU feed-forward), at BERT-base's width: sequence 128, hidden 768,
12 heads of 64, feed-forward 3072, seeded random weights. It is compiled once per core shape
(paper-u200's B512-class core; big-core, one core with the pool's total parallelism, buffers
and bandwidth) and run timing-only (`benchmarks/common.timing_run`). Per core count: cycles,
ms at the clock, speed-up and scaling efficiency over one core, MAC utilization, the big
core's cycles over these, DDR traffic, and the bound max(accelerator MACs / (n x PP x ICP x
OCP), DDR bytes / bandwidth) + barriers x SYNC. What runs on the host (the two attention
MatMuls between activations, the head transposes) takes host time that the cycle counts do
not include; their MACs are reported apart.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from common import doc_summary, timing_run

from fvir.compiler import compile_model
from fvir.hw import BIG_CORE, PAPER_U200, PoolConfig
from fvir.tools.mac_share import mac_fields
from fvir.zoo.builder import GraphBuilder
from fvir.zoo.transformer import attention, mlp


def encoder_layer(seq: int, dim: int, heads: int, ffn: int):
    b = GraphBuilder("bert-layer", seed=0)
    x = b.input("input", (1, seq, dim))
    y = b.layer_norm(b.add(x, attention(b, x, heads, "attn")), name="ln1")
    y = b.layer_norm(b.add(y, mlp(b, y, ffn, "ffn")), name="ln2")
    return b.finish([x], [y])


def rate(pool: PoolConfig) -> int:
    """The conv engine's MACs per core cycle (projections and FFN are convs over rows)."""
    return pool.core.pp * pool.core.icp * pool.core.ocp


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--ffn", type=int, default=3072)
    ap.add_argument("--cores", default="1,2,4,8,16")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    model = encoder_layer(args.seq, args.dim, args.heads, args.ffn)
    start = time.perf_counter()
    package = compile_model(model, PAPER_U200)
    compile_s = time.perf_counter() - start
    macs = mac_fields(package)
    big = timing_run(compile_model(model, BIG_CORE), BIG_CORE, 1, rate(BIG_CORE))
    rows: list[dict[str, Any]] = []
    for n in (int(c) for c in args.cores.split(",")):
        r = timing_run(package, PAPER_U200, n, rate(PAPER_U200))
        r["big_over_this"] = big["cycles"] / r["cycles"]
        rows.append(r)
    first = rows[0]  # speed-up and efficiency relative to the first core count
    for r in rows:
        r["speedup"] = first["cycles"] / r["cycles"]
        r["efficiency"] = r["speedup"] * first["cores"] / r["cores"]
    out = {"benchmark": "transformer", "seq": args.seq, "dim": args.dim, "heads": args.heads,
           "ffn": args.ffn, "compile_s": compile_s, **macs, "rows": rows, "big_core": big}
    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return
    print(f"== BERT encoder layer: seq {args.seq}, hidden {args.dim}, {args.heads} heads, "
          f"FFN {args.ffn}; {macs['accelerator_macs'] / 1e6:.0f} MMAC on the accelerator "
          f"({macs['accelerator_mac_share']:.1%}), {macs['host_macs'] / 1e6:.1f} MMAC on the "
          f"host (not in the cycles); {len(package.frames)} frames; compile {compile_s:.1f} s")
    print(f"big-core: {big['cycles']} cycles, {big['latency_ms']:.3f} ms, "
          f"MAC {big['mac_utilization']:.1%}, DDR {big['ddr_mb']:.1f} MB, "
          f"bound {big['bound_cycles']:.0f} ({big['of_bound']:.0%})")
    print(f"{'cores':>5} {'cycles':>10} {'ms':>8} {'speedup':>7} {'eff':>5} {'big/this':>8} "
          f"{'MAC%':>5} {'DDR MB':>7} {'bound':>10} {'%bound':>6}")
    for r in rows:
        print(f"{r['cores']:>5} {r['cycles']:>10} {r['latency_ms']:>8.3f} {r['speedup']:>7.2f} "
              f"{r['efficiency']:>5.0%} {r['big_over_this']:>8.2f} {r['mac_utilization']:>5.1%} "
              f"{r['ddr_mb']:>7.1f} {r['bound_cycles']:>10.0f} {r['of_bound']:>6.0%}")


if __name__ == "__main__":
    main()
