"""Benchmark: writing and reading `.ifp` packages of ResNet-50 and VGG-16 size.

    python benchmarks/bench_ifp.py [--repeat 5] [--f32] [--dir DIR] [--json]

Synthetic packages (random words, weights and frames; the format does not look inside them):
ResNet-50 size is 100k instructions, 5k frames and 25 MB of int8 weights; VGG-16 size is
60k instructions, 3k frames and 140 MB of weights. `--f32` adds the float32 shadow weights
(4x the bytes). Reports medians of `to_bytes`, `from_bytes`, `write_package` and
`read_package` (through DIR, default a temporary directory: the page cache makes this mostly
a memory benchmark), with MB/s, next to same-run baselines: SHA-256 and CRC32 over the file's
bytes (the checksum choice) and a plain write and read of the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import zlib
from pathlib import Path

import numpy as np
from common import doc_summary, measure, report

from fvir.hw import PAPER_U200
from fvir.ifp.fileformat import from_bytes, read_package, to_bytes, write_package
from fvir.ifp.package import FRAME_DTYPE, RELOC_DTYPE, Layer, Package, Segment, SegmentKind

SIZES = {
    "resnet50": {"instructions": 100_000, "frames": 5_000, "layers": 54, "weights": 25_000_000},
    "vgg16": {"instructions": 60_000, "frames": 3_000, "layers": 16, "weights": 140_000_000},
}


def synthetic_package(name: str, instructions: int, frames: int, layers: int, weights: int,
                      f32: bool) -> Package:
    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**32, (instructions, 8), dtype=np.uint32)
    per_frame = instructions // frames
    table = np.zeros(frames, FRAME_DTYPE)
    table["layer"] = np.arange(frames) * layers // frames
    table["tile"] = np.arange(frames) % 64
    table["cost"] = rng.integers(1_000, 100_000, frames)
    table["instr_start"] = np.arange(frames) * per_frame
    table["instr_count"] = per_frame
    starts = np.searchsorted(table["layer"], np.arange(layers))
    counts = np.diff(np.append(starts, frames))
    relocs = np.zeros(instructions * 2 // 5, RELOC_DTYPE)  # LOAD/SAVE are ~40% of a stream
    relocs["instr"] = np.sort(rng.choice(instructions, len(relocs), replace=False))
    relocs["segment"] = rng.integers(0, 4, len(relocs))
    blob = rng.integers(0, 256, weights, dtype=np.uint8)
    return Package(
        name=name,
        core_hash=PAPER_U200.core.config_hash(),
        segments=[Segment("weights", SegmentKind.WEIGHTS, weights),
                  Segment("input", SegmentKind.INPUT, 150_528),
                  Segment("act", SegmentKind.ACTIVATION, 3_211_264),
                  Segment("output", SegmentKind.OUTPUT, 1000)],
        tensors=[],
        inputs=[],
        outputs=[],
        input_names=[],
        output_names=[],
        layers=[Layer(f"layer{i}", "conv2d", (), (), int(s), int(c))
                for i, (s, c) in enumerate(zip(starts, counts, strict=True))],
        frames=table,
        words=words,
        relocs=relocs,
        weights=blob,
        weights_f32=blob.astype(np.float32) if f32 else None,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=doc_summary(__doc__))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--f32", action="store_true", help="include the float32 shadow weights")
    ap.add_argument("--dir", help="directory for the files (default: a temporary one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for name, size in SIZES.items():
            package = synthetic_package(name, **size, f32=args.f32)
            data = to_bytes(package)
            mb = len(data) / 1e6
            path, raw = Path(tmp) / f"{name}.ifp", Path(tmp) / f"{name}.raw"
            rows = {
                "to_bytes": measure(lambda p=package: to_bytes(p), args.repeat),
                "from_bytes (checks, views)": measure(lambda d=data: from_bytes(d), args.repeat),
                "write_package": measure(lambda p=package, f=path: write_package(p, f),
                                         args.repeat),
                "read_package": measure(lambda f=path: read_package(f), args.repeat),
                "baseline: sha256": measure(lambda d=data: hashlib.sha256(d).digest(),
                                            args.repeat),
                "baseline: crc32": measure(lambda d=data: zlib.crc32(d), args.repeat),
                "baseline: plain write": measure(lambda d=data, f=raw: f.write_bytes(d),
                                                 args.repeat),
                "baseline: plain read": measure(lambda f=raw: f.read_bytes(), args.repeat),
            }
            throughput = {
                k.removeprefix("baseline: ").split(" (")[0].replace(" ", "_"): mb / v["median_s"]
                for k, v in rows.items()
            }
            rows["file"] = {"MB": mb, "instructions": size["instructions"],
                            "frames": size["frames"]}
            rows["MB/s (median)"] = throughput
            report(f"ifp {name} ({mb:.1f} MB{', with fp32 weights' if args.f32 else ''})",
                   rows, args.json)


if __name__ == "__main__":
    main()
