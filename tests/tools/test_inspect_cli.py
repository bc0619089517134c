"""`fv inspect`: summary, --json, --disasm, --layer and --hw on a small hand-made package.
(The file format's failure modes are tested in tests/ifp/test_fileformat.py.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fvir.hw import PAPER_U200, TINY
from fvir.ifp.fileformat import write_package
from fvir.ifp.package import (
    FRAME_DTYPE,
    RELOC_DTYPE,
    Layer,
    Package,
    Segment,
    SegmentKind,
    TensorInfo,
)
from fvir.isa import SPECS, Buf, Instruction, Opcode, disasm, encode
from fvir.tools.fv import main

HOST_IR = (
    "func.func @main(%x: tensor<1x10xf32>) -> tensor<1x10xf32> {\n"
    "  %y = dnn.softmax %x axis 1 : tensor<1x10xf32>\n"
    "  func.return %y : tensor<1x10xf32>\n}"
)


def _instr(op: Opcode, dpdon: str = "-", dpdby: str = "-", **fields: int) -> Instruction:
    values = {
        f.name: f.default if f.default is not None else (int(next(iter(f.enum))) if f.enum else 1)
        for f in SPECS[op].fields
    }
    return Instruction.make(op, dpdon, dpdby, **{**values, **fields})


def make_package(core_hash: str | None = None) -> Package:
    """conv (2 frames) -> pool (1 frame) -> host softmax; LOAD/SAVE relocated."""
    def frame(seg_in: int, seg_out: int, off: int) -> list[Instruction]:
        return [
            _instr(Opcode.LOAD, dpdby="C", buf=Buf.FMAP, seg=seg_in, off=off),
            _instr(Opcode.CONV, dpdon="L", dpdby="S"),
            _instr(Opcode.SAVE, dpdon="C", seg=seg_out, off=off),
            _instr(Opcode.END),
        ]

    words = encode(frame(1, 2, 0) + frame(1, 2, 0x80) + frame(2, 3, 0))
    return Package(
        name="small",
        core_hash=core_hash or TINY.core.config_hash(),
        segments=[
            Segment("weights", SegmentKind.WEIGHTS, 2_000_000),
            Segment("input", SegmentKind.INPUT, 256),
            Segment("act0", SegmentKind.ACTIVATION, 256),
            Segment("output", SegmentKind.OUTPUT, 40),
        ],
        tensors=[
            TensorInfo("data", 1, 0, (1, 4, 8, 8), "int8", frac_bits=5),
            TensorInfo("conv", 2, 0, (1, 4, 8, 8), "int8", frac_bits=3),
            TensorInfo("pool", 2, 0x100, (1, 10), "int8", frac_bits=3, layout="flat"),
            TensorInfo("prob", 3, 0, (1, 10), "float32", layout="flat"),
        ],
        inputs=[0],
        outputs=[3],
        input_names=["data"],
        output_names=["prob"],
        layers=[
            Layer("conv1", "conv2d", (0,), (1,), frame_start=0, frame_count=2),
            Layer("pool1", "pool2d", (1,), (2,), frame_start=2, frame_count=1),
            Layer("softmax", "host", (2,), (3,), host_ir=HOST_IR),
        ],
        frames=np.array(
            [
                # buffers: [fmap, weight, bias] footprints (not read off these dummy words)
                (0, 0, 3000, 0, 4, 512, 128, (4096, 1152, 64)),
                (0, 1, 2000, 4, 4, 512, 128, (3584, 1280, 32)),
                (1, 0, 500, 8, 4, 128, 10, (2048, 0, 0)),
            ],
            dtype=FRAME_DTYPE,
        ),
        words=words,
        relocs=np.array([(0, 1), (2, 2), (4, 1), (6, 2), (8, 2), (10, 3)], dtype=RELOC_DTYPE),
        weights=np.zeros(2_000_000, np.uint8),
        meta={"hw": "tiny"},
    )


@pytest.fixture
def ifp(tmp_path):
    path = tmp_path / "small.ifp"
    write_package(make_package(), path)
    return path


def inspect(capsys, *argv: str) -> str:
    assert main(["inspect", *map(str, argv)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_summary(ifp, capsys):
    out = inspect(capsys, ifp)
    lines = out.splitlines()
    size = ifp.stat().st_size
    assert lines[0] == f"{ifp}: small, .ifp format version 5, {size / 1e6:.2f} MB"
    assert lines[1] == f"  core      {TINY.core.config_hash()[:16]}... (preset tiny)"
    assert "  meta      hw=tiny" in lines
    assert "  inputs    data (tensor 0, 1x4x8x8 int8)" in lines
    assert "  outputs   prob (tensor 3, 1x10 float32)" in lines
    assert "  contents  3 layers (1 on the host), 3 frames, 12 instructions, 6 relocations" in lines
    assert "  host      softmax: softmax" in lines  # host layer "softmax" runs dnn.softmax
    # The largest footprint per buffer over all frames, and tiny's buffers (8, 16, 1 KiB).
    assert ("  buffers   per frame at most fmap 4096 B, weight 1280 B, bias 64 B (the core has "
            "8192, 16384, 1024)") in lines
    assert "  weights   2.00 MB int8" in lines
    # 5500 cycles at tiny's 300 MHz
    assert "  cost      5500 cycles on one core = 0.018 ms at 300 MHz (tiny)" in lines
    rows = [line.split() for line in lines]
    segments = rows[lines.index("segments (4):") + 1 :][:5]
    assert segments == [
        ["#", "NAME", "KIND", "SIZE", "BYTES"],
        ["0", "weights", "weights", "2.00", "MB", "2000000"],
        ["1", "input", "input", "256", "B", "256"],
        ["2", "act0", "activation", "256", "B", "256"],
        ["3", "output", "output", "40", "B", "40"],
    ]
    tensors = rows[lines.index("tensors (4):") + 1 :][:5]
    assert tensors[0] == ["#", "NAME", "SEGMENT", "OFFSET", "SHAPE", "DTYPE", "FRAC", "ZERO",
                          "LAYOUT"]
    assert tensors[3] == ["2", "pool", "2", "0x100", "1x10", "int8", "3", "0", "flat"]
    layer_rows = lines[lines.index("layers (3):") + 1 :]
    assert [row.split() for row in layer_rows] == [
        ["#", "NAME", "KIND", "FRAMES", "INSTRS", "CYCLES", "FMAP", "WEIGHT", "BIAS", "INPUTS",
         "->", "OUTPUTS"],
        ["0", "conv1", "conv2d", "2", "8", "5000", "4096", "1280", "64", "0", "->", "1"],
        ["1", "pool1", "pool2d", "1", "4", "500", "2048", "0", "0", "1", "->", "2"],
        ["2", "softmax", "host", "0", "0", "0", "-", "-", "-", "2", "->", "3"],
    ]
    assert "disassembly:" not in out


def test_json(ifp, capsys):
    info = json.loads(inspect(capsys, ifp, "--json"))
    assert info["name"] == "small"
    assert info["file_bytes"] == ifp.stat().st_size
    assert info["core_hash"] == TINY.core.config_hash()
    assert info["preset"] == "tiny"
    assert info["totals"] == {
        "layers": 3, "host_layers": 1, "frames": 3, "instructions": 12, "relocations": 6,
        "weights_bytes": 2_000_000, "weights_f32_bytes": 0, "host_weights_bytes": 0,
        "cost_cycles": 5500,
        "max_buffers": [4096, 1280, 64],
    }
    assert info["core_buffers"] == [8192, 16384, 1024]
    assert info["host_ops"] == {"softmax": ["softmax"]}
    assert info["latency"] == {"hw": "tiny", "clock_mhz": 300.0, "ms": 5500 / 300e3}
    assert [(x["name"], x["frame_count"], x["cost_cycles"]) for x in info["layers"]] == [
        ("conv1", 2, 5000), ("pool1", 1, 500), ("softmax", 0, 0)
    ]
    assert info["segments"][2] == {"index": 2, "name": "act0", "kind": "activation", "size": 256}
    assert info["tensors"][2]["offset"] == 0x100
    assert [(x["max_buffers"], x["host_ops"]) for x in info["layers"]] == [
        ([4096, 1280, 64], []), ([2048, 0, 0], []), ([0, 0, 0], ["softmax"])
    ]
    # Every frame, with its footprint; its instructions only with --disasm.
    assert info["frames"][1] == {
        "index": 1, "layer": 0, "tile": 1, "cost_cycles": 2000, "instr_start": 4,
        "instr_count": 4, "load_bytes": 512, "save_bytes": 128, "buffers": [3584, 1280, 32],
    }
    assert [f["buffers"] for f in info["frames"]] == [
        [4096, 1152, 64], [3584, 1280, 32], [2048, 0, 0]
    ]


def test_disasm(ifp, capsys):
    out = inspect(capsys, ifp, "--disasm")
    body = out.split("disassembly:\n", 1)[1].splitlines()
    expected = disasm(make_package().words)
    assert body[0] == (
        "frame 0: layer 0 'conv1' tile 0, cost 3000 cycles, load 512 B, save 128 B, "
        "buffers [4096, 1152, 64], instructions 0..3"
    )
    assert body[1] == f"        0  {expected[0]}  # segment 1 'input'"
    assert body[2] == f"        1  {expected[1]}"
    assert body[3] == f"        2  {expected[2]}  # segment 2 'act0'"
    assert body[10] == (
        "frame 2: layer 1 'pool1' tile 0, cost 500 cycles, load 128 B, save 10 B, "
        "buffers [2048, 0, 0], instructions 8..11"
    )
    assert body[15] == "layer 2 'softmax': host, runs in numpy:"
    assert body[16:] == [f"    {line}" for line in HOST_IR.splitlines()]
    # Every instruction appears once, in order.
    listed = [line.split(None, 1)[1].split("  #")[0] for line in body if line.startswith("   ")
              and line.split()[0].isdigit()]
    assert listed == expected


def test_layer_by_name_and_index(ifp, capsys):
    by_name = inspect(capsys, ifp, "--layer", "pool1", "--disasm")
    assert by_name == inspect(capsys, ifp, "--layer", "1", "--disasm")
    assert "layer:\n" in by_name
    rows = by_name.split("layer:\n", 1)[1].split("\n\n")[0].splitlines()
    assert [r.split()[1] for r in rows] == ["NAME", "pool1"]
    body = by_name.split("disassembly:\n", 1)[1].splitlines()
    assert body[0].startswith("frame 2: layer 1 'pool1'")
    assert len(body) == 5
    info = json.loads(inspect(capsys, ifp, "--layer", "conv1", "--disasm", "--json"))
    assert [x["name"] for x in info["layers"]] == ["conv1"]
    assert [f["index"] for f in info["frames"]] == [0, 1]
    assert info["frames"][1]["instructions"][0] == disasm(make_package().words[4:5])[0] + (
        "  # segment 1 'input'"
    )
    assert info["totals"]["frames"] == 3  # the totals stay the whole package's


def test_unknown_layer_is_one_line(ifp, capsys):
    assert main(["inspect", str(ifp), "--layer", "fc9"]) == 1
    assert capsys.readouterr().err == (
        f"fv inspect: error: no layer 'fc9' in '{ifp}' (3 layers, 0..2: conv1, pool1, softmax)\n"
    )
    assert main(["inspect", str(ifp), "--layer", "3"]) == 1
    assert "no layer '3'" in capsys.readouterr().err


def test_hw_gives_the_clock(tmp_path, ifp, capsys):
    # Same core as tiny, another pool and name: the package fits, the latency names it.
    toml = tmp_path / "tiny8.toml"
    toml.write_text('base = "tiny"\nname = "tiny8"\nnum_cores = 8\nnum_banks = 4\n')
    out = inspect(capsys, ifp, "--hw", toml)
    assert "  cost      5500 cycles on one core = 0.018 ms at 300 MHz (tiny8)" in out.splitlines()


def test_unknown_core_has_no_clock(tmp_path, capsys):
    path = tmp_path / "x.ifp"
    package = make_package(core_hash="cd" * 32)
    package.meta = {"hw": "my-board"}  # a custom TOML's name
    write_package(package, path)
    lines = inspect(capsys, path).splitlines()
    assert lines[1] == f"  core      {'cd' * 8}... (no known preset)"
    assert lines[6] == "  macs      none counted"  # a package without the compiler's count
    assert lines[8] == "  buffers   per frame at most fmap 4096 B, weight 1280 B, bias 64 B"
    assert lines[10] == (
        "  cost      5500 cycles on one core (no known clock: give --hw for the latency)"
    )
    assert json.loads(inspect(capsys, path, "--json"))["latency"] is None
    assert main(["inspect", str(path), "--hw", "paper-u200"]) == 1
    assert capsys.readouterr().err == (
        f"fv inspect: error: '{path}' was compiled for core cdcdcdcdcdcd (my-board), not for this "
        f"hardware's core {PAPER_U200.core.config_hash()[:12]} (paper-u200); recompile it "
        "with --hw paper-u200\n"
    )


def test_bad_hw_is_one_line(ifp, capsys):
    assert main(["inspect", str(ifp), "--hw", "nope"]) == 1
    assert capsys.readouterr().err == (
        "fv inspect: error: unknown hardware 'nope': not a preset (paper-u200, big-core, tiny) "
        "nor a .toml file\n"
    )
