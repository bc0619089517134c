"""Packages checked instruction by instruction, independently of the code that made them: the
IR path and the direct path agree, every frame keeps the token discipline, every output byte of
a layer is saved exactly once, DDR accesses stay in their segments, reused activation memory is
never shared by live tensors, the weights segment holds the documented layouts, and the vcore
ops are the ISA table."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.parser import Parser

from fvir.codegen.emit import build_package, emit_package
from fvir.codegen.frame_plan import build_plan
from fvir.compiler import quantize_model
from fvir.frontend.onnx import import_model
from fvir.hw import PAPER_U200, TINY
from fvir.ifp.package import Package, SegmentKind
from fvir.ir import tile, vcore
from fvir.ir.dnn import DNN
from fvir.ir.ifp import IFP
from fvir.ir.tile import Tile
from fvir.ir.vcore import VCore
from fvir.isa import SPECS, Engine, Instruction, Opcode, decode
from fvir.passes.dnn_tile import tile_module
from fvir.passes.tile_compile_frames import compile_frames

from .models import MODELS


@pytest.fixture(scope="module", params=["residual", "inception", "mobile", "classifier"])
def tiled(request):
    imported = quantize_model(import_model(MODELS[request.param]()), TINY)
    tile_module(imported.module, TINY)
    return imported


@pytest.fixture(scope="module")
def package(tiled) -> Package:
    return build_package(build_plan(tiled.module), tiled.weights, TINY.core)


def test_ir_path_equals_direct_path(tiled, package):
    module = tiled.module.clone()
    compile_frames(module)
    module.verify()  # every frame, tensor and DMA passes the ifp verifier
    # Print and parse back: the package IR is complete as text too.
    ctx = Context()
    for dialect in (Builtin, Func, DNN, Tile, VCore, IFP):
        ctx.load_dialect(dialect)
    reparsed = Parser(ctx, str(module)).parse_module()
    for m in (module, reparsed):
        again = emit_package(m, tiled.weights, TINY.core)
        for name in ("frames", "words", "relocs", "weights", "weights_f32"):
            np.testing.assert_array_equal(getattr(again, name), getattr(package, name), name)
        assert again.layers == package.layers and again.tensors == package.tensors
        assert again.segments == package.segments


def frame_instructions(package: Package, k: int):
    return decode(package.frame_words(k))


def test_every_frame_balances_its_tokens_in_program_order(package):
    for k in range(len(package.frames)):
        tokens = np.zeros((4, 4), np.int64)
        for ins in frame_instructions(package, k):
            engine = SPECS[ins.op].engine
            assert engine is not None, "no SYNC/END inside frames"
            assert not (ins.dpdon | ins.dpdby) & engine.bit
            for p in Engine:
                if ins.dpdon & p.bit:
                    tokens[p, engine] -= 1
                    assert tokens[p, engine] >= 0, f"frame {k}: {ins.op.name} waits in vain"
            for q in Engine:
                if ins.dpdby & q.bit:
                    tokens[engine, q] += 1
        assert not tokens.any(), f"frame {k} leaves tokens {tokens}"


def dma_bytes(ins) -> np.ndarray:
    """Every DDR byte a LOAD/SAVE touches (segment-relative)."""
    f = ins.fields
    r = np.arange(f["rows"])[:, None, None] * f["ddr_row_stride"]
    c = np.arange(f["cols"])[None, :, None] * f["ddr_pix_stride"]
    k = np.arange(f["chans"])[None, None, :]
    return (f["off"] + r + c + k).reshape(-1)


def test_each_layer_saves_every_output_byte_once(package):
    for layer in package.layers:
        if layer.kind == "host":
            continue
        written: dict[int, list[np.ndarray]] = {}
        for k in range(layer.frame_start, layer.frame_start + layer.frame_count):
            for ins in frame_instructions(package, k):
                if ins.op == Opcode.SAVE:
                    written.setdefault(ins.fields["seg"], []).append(dma_bytes(ins))
        (out,) = layer.outputs
        info = package.tensors[out]
        assert list(written) == [info.segment]
        allbytes = np.concatenate(written[info.segment])
        assert len(np.unique(allbytes)) == len(allbytes), f"{layer.name} saves a byte twice"
        size = int(np.prod(info.shape))
        assert allbytes.min() >= info.offset and allbytes.max() < info.offset + size
        # A layer writing into a concat covers its channel slice of the whole tensor: count
        # the bytes it must write from the layer's own output (all layers here own theirs or
        # a slice; their union over the concat's producers is checked below).
        if layer.kind != "copy" and all(o.outputs != layer.outputs or o is layer
                                        for o in package.layers):
            assert len(allbytes) == size, f"{layer.name} leaves bytes unwritten"


def test_concat_producers_fill_the_concat_exactly(package):
    by_tensor: dict[int, list[np.ndarray]] = {}
    for layer in package.layers:
        if layer.kind == "host":
            continue
        for k in range(layer.frame_start, layer.frame_start + layer.frame_count):
            for ins in frame_instructions(package, k):
                if ins.op == Opcode.SAVE:
                    by_tensor.setdefault(layer.outputs[0], []).append(dma_bytes(ins))
    for t, chunks in by_tensor.items():
        info = package.tensors[t]
        allbytes = np.concatenate(chunks)
        assert len(np.unique(allbytes)) == len(allbytes)
        assert len(allbytes) == int(np.prod(info.shape)), info.name


def test_dma_stays_inside_segments_and_buffers(package):
    sizes = [s.size for s in package.segments]
    buffers = (TINY.core.fmap_buffer_bytes, TINY.core.weight_buffer_bytes,
               TINY.core.bias_buffer_bytes)
    for ins in decode(package.words):
        if ins.op not in (Opcode.LOAD, Opcode.SAVE) or not ins.fields["rows"]:
            continue
        touched = dma_bytes(ins)
        assert touched.max() < sizes[ins.fields["seg"]]
        f = ins.fields
        end = (f["addr"] + (f["rows"] - 1) * f["buf_row_stride"]
               + (f["cols"] - 1) * f["buf_pix_stride"] + f["chans"])
        assert end <= buffers[f["buf"]]
    relocated = set(package.relocs["instr"].tolist())
    ops = [ins.op for ins in decode(package.words)]
    assert relocated == {i for i, op in enumerate(ops) if op in (Opcode.LOAD, Opcode.SAVE)}


def test_frame_table_footprint_is_the_tiles(tiled, package):
    """Each frame's recorded buffer footprint, read off its LOADs and SAVEs when emitting, is
    exactly the `buffers` dnn-tile reserved for its tile, and fits the core's buffers."""
    tiles = [t for layer in tiled.module.walk() if isinstance(layer, tile.LayerOp)
             for t in layer.tile_ops]
    footprint = package.frames["buffers"]
    assert footprint.shape == (len(tiles), 3)
    np.testing.assert_array_equal(footprint, [t.footprint for t in tiles])
    buffers = (TINY.core.fmap_buffer_bytes, TINY.core.weight_buffer_bytes,
               TINY.core.bias_buffer_bytes)
    assert (footprint <= np.array(buffers, np.uint64)).all()
    assert (footprint[:, 0] > 0).all()  # every frame reads or writes feature maps


def test_reused_activation_memory_is_never_shared_by_live_tensors(package):
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, layer in enumerate(package.layers):
        for t in layer.outputs:
            first.setdefault(t, i)
        for t in layer.inputs:
            last[t] = max(last.get(t, -1), i)
    act = [t for t, info in enumerate(package.tensors)
           if package.segments[info.segment].kind == SegmentKind.ACTIVATION]
    for a in act:
        for b in act:
            if a >= b:
                continue
            ia, ib = package.tensors[a], package.tensors[b]
            na = int(np.prod(ia.shape)) * (4 if ia.dtype == "float32" else 1)
            nb = int(np.prod(ib.shape)) * (4 if ib.dtype == "float32" else 1)
            if ia.offset < ib.offset + nb and ib.offset < ia.offset + na:
                life_a = (first.get(a, -1), last.get(a, first.get(a, -1)))
                life_b = (first.get(b, -1), last.get(b, first.get(b, -1)))
                assert life_a[1] < life_b[0] or life_b[1] < life_a[0], (ia.name, ib.name)


# ------------------------------------------------------------------------------ weights


def test_weights_segment_layouts():
    """A conv's OHWI block, a dense layer's (h, w, c)-permuted rows and int32 biases, with the
    float shadow, for a tiny float module compiled without quantization."""
    ctx = Context()
    for dialect in (Builtin, Func, DNN):
        ctx.load_dialect(dialect)
    module = Parser(ctx, """
      func.func @main(%x: tensor<1x3x4x4xf32>) -> tensor<1x5xf32> {
        %w = dnn.weight "cw" : tensor<6x3x3x3xf32>
        %b = dnn.weight "cb" : tensor<6xf32>
        %c = dnn.conv2d %x, %w, %b strides [2, 2] pads [1, 1, 1, 1] dilations [1, 1]
               : (tensor<1x3x4x4xf32>, tensor<6x3x3x3xf32>, tensor<6xf32>) -> tensor<1x6x2x2xf32>
        %f = dnn.flatten %c : tensor<1x6x2x2xf32> -> tensor<1x24xf32>
        %v = dnn.weight "fw" : tensor<24x5xf32>
        %y = dnn.dense %f, %v : (tensor<1x24xf32>, tensor<24x5xf32>) -> tensor<1x5xf32>
        func.return %y : tensor<1x5xf32>
      }""").parse_module()
    rng = np.random.default_rng(0)
    weights = {"cw": rng.standard_normal((6, 3, 3, 3)).astype(np.float32),
               "cb": rng.standard_normal(6).astype(np.float32),
               "fw": rng.standard_normal((24, 5)).astype(np.float32)}
    tile_module(module, PAPER_U200)
    plan = build_plan(module)
    pkg = build_package(plan, weights, PAPER_U200.core)
    blocks = {c.source: c for c in plan.consts}
    cw, cb, fw = blocks["cw"], blocks["cb"], blocks["fw"]
    assert (cw.transform, cb.transform, fw.transform) == ("ohwi", "bias", "rows")
    shadow = pkg.weights_f32
    # conv: byte (o, ky, kx, i) of the block holds w[o, i, ky, kx]
    got = shadow[cw.offset : cw.offset + cw.size].reshape(6, 3, 3, 3)
    for o, ky, kx, i in [(0, 0, 0, 0), (5, 2, 1, 2), (3, 1, 2, 0)]:
        assert got[o, ky, kx, i] == weights["cw"][o, i, ky, kx]
    # biases: one float per 4 bytes
    np.testing.assert_array_equal(shadow[cb.offset : cb.offset + 24 : 4], weights["cb"])
    # dense: W is [K, N] (no trans_b): row n holds column n; the flatten of [6, 2, 2] is read
    # in NHWC order, so column (h * 2 + w) * 6 + c of row n is W[c * 4 + h * 2 + w, n].
    rows = shadow[fw.offset : fw.offset + fw.size].reshape(5, 24)
    for n, c, h, w in [(0, 0, 0, 0), (4, 5, 1, 1), (2, 3, 0, 1)]:
        assert rows[n, (h * 2 + w) * 6 + c] == weights["fw"][c * 4 + h * 2 + w, n]
    # A float model has no int8 weights: the blob is zero, the shadow carries the values.
    assert not pkg.weights.any()


def test_quantized_weights_and_biases_bytes():
    imported = quantize_model(import_model(MODELS["classifier"]()), TINY)
    tile_module(imported.module, TINY)
    plan = build_plan(imported.module)
    pkg = build_package(plan, imported.weights, TINY.core)
    for c in plan.consts:
        raw = pkg.weights[c.offset : c.offset + c.size]
        if c.transform == "bias":
            want = np.asarray(imported.weights[c.source], np.int64).reshape(-1)
            if c.params:  # the input's zero point Z folded in: b - Z sum(w) per output channel
                zero, axis = c.params
                w = np.asarray(imported.weights[c.fold], np.int64)
                want = want - zero * w.sum(axis=tuple(i for i in range(w.ndim) if i != axis))
            np.testing.assert_array_equal(raw.view("<i4"), want)
            shadow = pkg.weights_f32[c.offset : c.offset + c.size : 4]
            np.testing.assert_array_equal(shadow, imported.weights[c.source.removesuffix(".q")])
        elif c.transform == "ohwi":
            q = np.asarray(imported.weights[c.source])
            np.testing.assert_array_equal(raw.view(np.int8), q.transpose(0, 2, 3, 1).ravel())


# -------------------------------------------------------------------------------- vcore


def test_vcore_ops_are_the_isa_table():
    for op, cls in vcore.OPS.items():
        assert cls.name == f"vcore.{op.name.lower()}"
        props = tuple(cls.get_irdl_definition().properties)
        assert props == ("dpdon", "dpdby", *SPECS[op].names)
    assert set(vcore.OPS) == set(Opcode)


@st.composite
def instructions(draw: st.DrawFn) -> Instruction:
    """A random instruction: every field over its whole range (masks avoid the own engine)."""
    op = draw(st.sampled_from(list(Opcode)))
    fields = {}
    for f in SPECS[op].fields:
        values = ([int(m) for m in f.enum] if f.enum is not None else None)
        fields[f.name] = draw(st.sampled_from(values) if values else st.integers(f.lo, f.hi))
    engine = SPECS[op].engine
    own = engine.bit if engine is not None else 0xF
    return Instruction.make(op, draw(st.integers(0, 15)) & ~own, draw(st.integers(0, 15)) & ~own,
                            **fields)


@settings(max_examples=200, deadline=None)
@given(ins=instructions())
def test_vcore_op_round_trips_an_instruction(ins):
    segments = [f"s{i}" for i in range(32)]
    op = vcore.VCoreOp.from_instruction(ins, segments.__getitem__ if "seg" in ins.fields else None)
    assert op.instruction({n: i for i, n in enumerate(segments)}) == ins
    # and through the custom syntax
    module = ModuleOp([op])
    ctx = Context()
    ctx.load_dialect(Builtin)
    ctx.load_dialect(VCore)
    again = Parser(ctx, str(module)).parse_module()
    (parsed,) = list(again.ops)
    assert parsed.instruction({n: i for i, n in enumerate(segments)}) == ins
