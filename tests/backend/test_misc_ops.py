"""POOL, ELEW, MVM and ACT: int8 results bit-exact against loops over the pseudo-code, fp32
mode against onnxruntime (rtol 1e-5), and their error cases."""

from __future__ import annotations

import math
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from fvir.backend import BufferFault, ProgramError
from fvir.isa import Act, ActFunc, ElewType, Opcode, PoolType

from .helpers import (
    fresh,
    get_block,
    make,
    pad_hwc,
    put_block,
    ref_requant,
    ref_rshift_round,
    ref_sat8,
    run,
)


def ort_run(nodes: list, inputs: dict[str, np.ndarray],
            inits: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Run a one-output ONNX graph (output "y") with onnxruntime."""
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape))
         for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [onnx.numpy_helper.from_array(v.astype(np.float32), k)
         for k, v in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {k: v.astype(np.float32) for k, v in inputs.items()})[0]


# ---------------------------------------------------------------------------------------------
# POOL

POOL_CASES = {
    # name: (rows, cols, chans, kernel, stride, pads t l b r)
    "2x2 s2": (3, 4, 5, (2, 2), (2, 2), (0, 0, 0, 0)),
    "3x3 s2 pad": (4, 4, 3, (3, 3), (2, 2), (1, 1, 0, 0)),
    "3x3 s1 pad all": (4, 5, 4, (3, 3), (1, 1), (1, 1, 1, 1)),
    "global 7x7": (1, 1, 16, (7, 7), (1, 1), (0, 0, 0, 0)),
    "3x2 asym": (2, 3, 6, (3, 2), (1, 2), (0, 1, 2, 0)),
}


def pool_program(pool_type: PoolType, rows: int, cols: int, chans: int, k: tuple[int, int],
                 s: tuple[int, int], pads: tuple[int, int, int, int], avg_mul: int = 0,
                 avg_shift: int = 0) -> list:
    in_cols = (cols - 1) * s[1] + k[1] - pads[1] - pads[3]
    in_pix, out_pix = chans + 2, chans + 1
    return [
        make(Opcode.POOLINIT, pool_type=pool_type, avg_shift=avg_shift, avg_mul=avg_mul,
             stride_h=s[0], stride_w=s[1], kernel_h=k[0], kernel_w=k[1],
             in_row_stride=in_cols * in_pix + 1, out_row_stride=cols * out_pix + 5,
             in_pix_stride=in_pix, out_pix_stride=out_pix),
        make(Opcode.POOL, pad_t=pads[0], pad_l=pads[1], pad_b=pads[2], pad_r=pads[3],
             in_addr=7, out_addr=9000, rows=rows, cols=cols, chans=chans),
    ]


def run_pool(mode: str, x: np.ndarray, pool_type: PoolType, rows: int, cols: int, chans: int,
             k: tuple[int, int], s: tuple[int, int], pads: tuple[int, int, int, int],
             avg_mul: int = 0, avg_shift: int = 0) -> np.ndarray:
    state, mem = fresh(mode)
    init, op = pool_program(pool_type, rows, cols, chans, k, s, pads, avg_mul, avg_shift)
    put_block(state.fmap, 7, init["in_row_stride"], init["in_pix_stride"], x)
    run(state, mem, init, op)
    return get_block(state.fmap, 9000, init["out_row_stride"], init["out_pix_stride"],
                     (rows, cols, chans))


def _pool_input(rows: int, cols: int, k: tuple[int, int], s: tuple[int, int],
                pads: tuple[int, int, int, int]) -> tuple[int, int]:
    return ((rows - 1) * s[0] + k[0] - pads[0] - pads[2],
            (cols - 1) * s[1] + k[1] - pads[1] - pads[3])


@pytest.mark.parametrize("name", list(POOL_CASES))
@pytest.mark.parametrize("pool_type", [PoolType.MAX, PoolType.AVG])
def test_pool_int8_is_bit_exact(name: str, pool_type: PoolType) -> None:
    rows, cols, chans, k, s, pads = POOL_CASES[name]
    in_rows, in_cols = _pool_input(rows, cols, k, s, pads)
    x = np.random.default_rng(3).integers(-128, 128, (in_rows, in_cols, chans)).astype(np.int8)
    avg_shift = 14
    avg_mul = round(2**avg_shift / (k[0] * k[1]))
    got = run_pool("int8", x, pool_type, rows, cols, chans, k, s, pads, avg_mul, avg_shift)
    p = pad_hwc(x, pads, -math.inf if pool_type == PoolType.MAX else 0)
    expected = np.zeros((rows, cols, chans), np.int8)
    for y in range(rows):
        for xx in range(cols):
            for i in range(chans):
                window = p[y * s[0] : y * s[0] + k[0], xx * s[1] : xx * s[1] + k[1], i]
                if pool_type == PoolType.MAX:
                    expected[y, xx, i] = int(window.max())
                else:
                    total = sum(int(v) for v in window.ravel())
                    expected[y, xx, i] = ref_sat8(ref_rshift_round(total * avg_mul, avg_shift))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", list(POOL_CASES))
@pytest.mark.parametrize("pool_type", [PoolType.MAX, PoolType.AVG])
def test_pool_fp32_matches_onnxruntime(name: str, pool_type: PoolType) -> None:
    rows, cols, chans, k, s, pads = POOL_CASES[name]
    in_rows, in_cols = _pool_input(rows, cols, k, s, pads)
    x = np.random.default_rng(4).standard_normal((in_rows, in_cols, chans)).astype(np.float32)
    got = run_pool("fp32", x, pool_type, rows, cols, chans, k, s, pads)
    onnx_pads = [pads[0], pads[1], pads[2], pads[3]]
    if pool_type == PoolType.MAX:
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=list(k), strides=list(s),
                                pads=onnx_pads)
    else:  # the ISA counts padding in the average
        node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=list(k),
                                strides=list(s), pads=onnx_pads, count_include_pad=1)
    expected = ort_run([node], {"x": x.transpose(2, 0, 1)[None]})
    np.testing.assert_allclose(got, expected[0].transpose(1, 2, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["int8", "fp32"])
@pytest.mark.parametrize("pool_type", [PoolType.MAX, PoolType.AVG])
def test_pool_split_over_rows_equals_the_whole_window(mode: str, pool_type: PoolType) -> None:
    """A 9 x 5 global pool as parts of 4, 4 and 1 rows (acc_out; acc_in + acc_out; acc_in),
    each part loaded where the whole window starts: the outputs of one POOL; in int8 the first
    part's partial maxima or sums in the bias buffer."""
    rng = np.random.default_rng(12)
    chans, avg_shift = 6, 14
    avg_mul = round(2**avg_shift / 45)
    x = (rng.integers(-128, 128, (9, 5, chans)) if mode == "int8"
         else rng.standard_normal((9, 5, chans))).astype(np.int8 if mode == "int8"
                                                         else np.float32)
    want = run_pool(mode, x, pool_type, 1, 1, chans, (9, 5), (1, 1), (0, 0, 0, 0), avg_mul,
                    avg_shift)
    state, mem = fresh(mode)
    parts = [(0, 4), (4, 8), (8, 9)]
    for j, (a, b) in enumerate(parts):
        state.fmap[: (b - a) * 5 * chans] = x[a:b].ravel()
        run(state, mem,
            make(Opcode.POOLINIT, pool_type=pool_type, avg_shift=avg_shift, avg_mul=avg_mul,
                 stride_h=1, stride_w=1, kernel_h=b - a, kernel_w=5, window_h=9,
                 in_row_stride=5 * chans, in_pix_stride=chans, out_row_stride=chans,
                 out_pix_stride=chans),
            make(Opcode.POOL, in_addr=0, out_addr=9000, rows=1, cols=1, chans=chans,
                 acc_in=int(j > 0), acc_out=int(j < len(parts) - 1), psum_addr=16))
        if j == 0 and mode == "int8":
            first = x[:4].astype(np.int64)
            first = first.max(axis=(0, 1)) if pool_type == PoolType.MAX else first.sum((0, 1))
            np.testing.assert_array_equal(state.bias[16 : 16 + 4 * chans].view("<i4"), first)
    got = state.fmap[9000 : 9000 + chans]
    if mode == "int8":
        np.testing.assert_array_equal(got, want.ravel())
    else:
        np.testing.assert_allclose(got, want.ravel(), rtol=1e-6, atol=1e-6)


def test_split_pool_checks_its_partial_results_in_the_bias_buffer() -> None:
    state, mem = fresh("int8")
    size = state.bias.size
    init = make(Opcode.POOLINIT, pool_type=PoolType.AVG, stride_h=1, stride_w=1, kernel_h=2,
                kernel_w=2, in_row_stride=8, in_pix_stride=4, out_row_stride=4,
                out_pix_stride=4)
    with pytest.raises(BufferFault, match="POOL"):
        run(state, mem, init, make(Opcode.POOL, in_addr=0, out_addr=100, rows=1, cols=1,
                                   chans=4, acc_out=1, psum_addr=size - 8))
    with pytest.raises(BufferFault, match="POOL"):
        run(state, mem, init, make(Opcode.POOL, in_addr=0, out_addr=100, rows=1, cols=1,
                                   chans=4, acc_in=1, psum_addr=size - 8))


def test_pool_errors() -> None:
    state, mem = fresh(tenant="t")
    with pytest.raises(ProgramError, match=re.escape(
            "tenant 't', instruction 0 (POOL): no POOLINIT before it")):
        run(state, mem, make(Opcode.POOL, in_addr=0, out_addr=0, rows=1, cols=1, chans=1))
    init = pool_program(PoolType.MAX, 1, 2, 1, (2, 2), (2, 2), (0, 0, 0, 0))[0]
    with pytest.raises(ProgramError, match=re.escape(
            "instruction 1 (POOL): a max-pool window lies entirely in the padding")):
        # Window 1 of the row lies in pad_r = 2 columns only.
        run(state, mem, init, make(Opcode.POOL, pad_r=2, in_addr=0, out_addr=100, rows=1,
                                   cols=2, chans=1))
    with pytest.raises(ProgramError, match=re.escape("(POOLINIT): kernel_h = 0: must be at")):
        run(state, mem, make(Opcode.POOLINIT, pool_type=PoolType.MAX, stride_h=1, stride_w=1,
                             kernel_h=0, kernel_w=1, in_row_stride=0, out_row_stride=0,
                             in_pix_stride=0, out_pix_stride=0))


# ---------------------------------------------------------------------------------------------
# ELEW


def elew_program(elew_type: ElewType, rows: int, cols: int, chans: int, act: Act = Act.NONE,
                 act_arg: int = 0, shift_a: int = 0, shift_b: int = 0, shift_out: int = 0,
                 in_a: int = 0, in_b: int = 2000, out: int = 4000) -> list:
    in_pix, out_pix = chans + 3, chans
    return [
        make(Opcode.ELEWINIT, elew_type=elew_type, act=act, act_arg=act_arg, shift_a=shift_a,
             shift_b=shift_b, shift_out=shift_out, in_row_stride=cols * in_pix + 2,
             out_row_stride=cols * out_pix, in_pix_stride=in_pix, out_pix_stride=out_pix),
        make(Opcode.ELEW, chans=chans, in_a=in_a, in_b=in_b, out_addr=out, rows=rows, cols=cols),
    ]


ELEW_CASES = {
    "add aligned": dict(elew_type=ElewType.ADD, shift_a=2, shift_b=0, shift_out=1),
    "add relu": dict(elew_type=ElewType.ADD, shift_a=0, shift_b=1, shift_out=1, act=Act.RELU),
    "add relu6": dict(elew_type=ElewType.ADD, shift_out=0, act=Act.RELU6, act_arg=50),
    "add leaky": dict(elew_type=ElewType.ADD, shift_out=0, act=Act.LEAKY, act_arg=77),
    "mul": dict(elew_type=ElewType.MUL, shift_out=7),
    "mul shifted": dict(elew_type=ElewType.MUL, shift_a=1, shift_b=2, shift_out=9),
}


@pytest.mark.parametrize("name", list(ELEW_CASES))
def test_elew_int8_is_bit_exact(name: str) -> None:
    cfg = ELEW_CASES[name]
    rows, cols, chans = 3, 4, 5
    rng = np.random.default_rng(7)
    a, b = (rng.integers(-128, 128, (rows, cols, chans)).astype(np.int8) for _ in range(2))
    state, mem = fresh()
    init, op = elew_program(rows=rows, cols=cols, chans=chans, **cfg)
    for addr, v in ((0, a), (2000, b)):
        put_block(state.fmap, addr, init["in_row_stride"], init["in_pix_stride"], v)
    run(state, mem, init, op)
    got = get_block(state.fmap, 4000, init["out_row_stride"], chans, (rows, cols, chans))
    expected = np.zeros_like(got)
    for idx in np.ndindex(a.shape):
        va, vb = int(a[idx]) << cfg.get("shift_a", 0), int(b[idx]) << cfg.get("shift_b", 0)
        acc = va + vb if cfg["elew_type"] == ElewType.ADD else va * vb
        expected[idx] = ref_requant(acc, cfg["shift_out"], cfg.get("act", 0),
                                    cfg.get("act_arg", 0))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", ["add relu", "mul", "add leaky"])
def test_elew_fp32_matches_onnxruntime(name: str) -> None:
    cfg = ELEW_CASES[name]
    rows, cols, chans = 2, 3, 4
    rng = np.random.default_rng(8)
    a, b = (rng.standard_normal((rows, cols, chans)).astype(np.float32) for _ in range(2))
    state, mem = fresh("fp32")
    init, op = elew_program(rows=rows, cols=cols, chans=chans, **cfg)
    for addr, v in ((0, a), (2000, b)):
        put_block(state.fmap, addr, init["in_row_stride"], init["in_pix_stride"], v)
    run(state, mem, init, op)
    got = get_block(state.fmap, 4000, init["out_row_stride"], chans, (rows, cols, chans))
    kind = "Add" if cfg["elew_type"] == ElewType.ADD else "Mul"
    nodes = [helper.make_node(kind, ["a", "b"], ["c"])]
    if cfg.get("act") == Act.RELU:
        nodes.append(helper.make_node("Relu", ["c"], ["y"]))
    elif cfg.get("act") == Act.LEAKY:
        nodes.append(helper.make_node("LeakyRelu", ["c"], ["y"], alpha=cfg["act_arg"] / 256))
    else:
        nodes.append(helper.make_node("Identity", ["c"], ["y"]))
    np.testing.assert_allclose(got, ort_run(nodes, {"a": a, "b": b}), rtol=1e-5, atol=1e-6)


def test_elew_in_place() -> None:
    """out_addr == in_a: allowed by the ISA."""
    state, mem = fresh()
    a = np.arange(-8, 8, dtype=np.int8).reshape(1, 4, 4)
    put_block(state.fmap, 0, 16, 4, a)
    run(state, mem,
        make(Opcode.ELEWINIT, elew_type=ElewType.ADD, shift_out=0, in_row_stride=16,
             out_row_stride=16, in_pix_stride=4, out_pix_stride=4),
        make(Opcode.ELEW, chans=4, in_a=0, in_b=0, out_addr=0, rows=1, cols=4))
    np.testing.assert_array_equal(get_block(state.fmap, 0, 16, 4, (1, 4, 4)), 2 * a)


@pytest.mark.parametrize("mode", ["int8", "fp32"])
def test_elew_broadcasts_a_channel_vector(mode: str) -> None:
    """bcast_b: input b is one pixel of chans values, the same for every pixel (hand computed:
    a * b >> 1, rounded half up; fp32: the plain product)."""
    state, mem = fresh(mode)
    a = np.arange(-12, 12).reshape(2, 3, 4)
    b = np.array([1, -2, 3, 5])
    put_block(state.fmap, 0, 12, 4, a.astype(state.fmap.dtype))
    state.fmap[100:104] = b
    run(state, mem,
        make(Opcode.ELEWINIT, elew_type=ElewType.MUL, shift_out=1, bcast_b=1, in_row_stride=12,
             out_row_stride=12, in_pix_stride=4, out_pix_stride=4),
        make(Opcode.ELEW, chans=4, in_a=0, in_b=100, out_addr=0, rows=2, cols=3))
    want = (a * b + 1) >> 1 if mode == "int8" else a * b
    np.testing.assert_array_equal(get_block(state.fmap, 0, 12, 4, (2, 3, 4)), want)


def test_elew_without_elewinit() -> None:
    state, mem = fresh()
    with pytest.raises(ProgramError, match=re.escape("(ELEW): no ELEWINIT before it")):
        run(state, mem, elew_program(ElewType.ADD, 1, 1, 1)[1])


# ---------------------------------------------------------------------------------------------
# MVM


def run_mvm(mode: str, w: np.ndarray, x: np.ndarray, bias: np.ndarray, **cfg: int) -> np.ndarray:
    rows, cols = w.shape
    state, mem = fresh(mode)
    state.weight[5 : 5 + w.size] = w.ravel()
    state.fmap[3 : 3 + cols] = x
    if mode == "int8":
        state.bias[8 : 8 + 4 * rows] = bias.astype("<i4").view(np.uint8)
    else:
        state.bias[8 : 8 + 4 * rows : 4] = bias
    run(state, mem, make(Opcode.MVM, wgt_addr=5, vec_addr=3, bias_addr=8, out_addr=9000,
                         rows=rows, cols=cols, **cfg))
    return state.fmap[9000 : 9000 + rows].copy()


@pytest.mark.parametrize(("rows", "cols", "cfg"), [
    (7, 13, dict(shift_cut=8)),
    (16, 40, dict(shift_cut=9, act=Act.RELU, shift_bias=2)),
    (5, 3000, dict(shift_cut=14, act=Act.LEAKY, act_arg=30)),  # > 1024 terms
])
def test_mvm_int8_is_bit_exact(rows: int, cols: int, cfg: dict[str, int]) -> None:
    rng = np.random.default_rng(9)
    w = rng.integers(-128, 128, (rows, cols)).astype(np.int8)
    x = rng.integers(-128, 128, cols).astype(np.int8)
    bias = rng.integers(-5000, 5000, rows)
    got = run_mvm("int8", w, x, bias, **cfg)
    expected = [ref_requant(sum(int(w[r, k]) * int(x[k]) for k in range(cols))
                            + (int(bias[r]) << cfg.get("shift_bias", 0)),
                            cfg["shift_cut"], cfg.get("act", 0), cfg.get("act_arg", 0))
                for r in range(rows)]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("mode", ["int8", "fp32"])
def test_mvm_split_over_columns_equals_the_whole_product(mode: str) -> None:
    """Columns 0..9, 10..19, 20..24 as three MVMs (acc_out; acc_in + acc_out; acc_in), each
    chunk's weights and vector where one LOAD puts them: the outputs of one MVM, the first
    chunk's partial sums (bias << shift_bias plus its products) in the bias buffer."""
    rng = np.random.default_rng(11)
    dtype = np.int8 if mode == "int8" else np.float32
    w = rng.integers(-128, 128, (6, 25)).astype(dtype)
    x = rng.integers(-128, 128, 25).astype(dtype)
    bias = rng.integers(-5000, 5000, 6)
    cfg = dict(shift_cut=10, act=Act.RELU, shift_bias=1)
    want = run_mvm(mode, w, x, bias, **cfg)
    state, mem = fresh(mode)
    if mode == "int8":
        state.bias[8:32] = bias.astype("<i4").view(np.uint8)
    else:
        state.bias[8:32:4] = bias
    chunks = [(0, 10), (10, 20), (20, 25)]
    for j, (a, b) in enumerate(chunks):
        state.weight[: 6 * (b - a)] = w[:, a:b].ravel()
        state.fmap[: b - a] = x[a:b]
        run(state, mem, make(Opcode.MVM, wgt_addr=0, vec_addr=0, bias_addr=8, out_addr=9000,
                             rows=6, cols=b - a, acc_in=int(j > 0),
                             acc_out=int(j < len(chunks) - 1), psum_addr=64, **cfg))
        if j == 0 and mode == "int8":
            first = w[:, :10].astype(np.int64) @ x[:10].astype(np.int64) + (bias << 1)
            np.testing.assert_array_equal(state.bias[64:88].view("<i4"), first)
    np.testing.assert_array_equal(state.fmap[9000:9006], want)


def test_mvm_fp32_matches_onnxruntime() -> None:
    rng = np.random.default_rng(10)
    w = rng.standard_normal((12, 30)).astype(np.float32)
    x = rng.standard_normal(30).astype(np.float32)
    bias = rng.standard_normal(12).astype(np.float32)
    got = run_mvm("fp32", w, x, bias, shift_cut=3, act=Act.RELU)
    node_mm = helper.make_node("Gemm", ["x", "w", "b"], ["c"], transB=1)
    expected = ort_run([node_mm, helper.make_node("Relu", ["c"], ["y"])], {"x": x[None]},
                       {"w": w, "b": bias})
    np.testing.assert_allclose(got, expected[0], rtol=1e-5, atol=1e-6)


def test_mvm_vector_past_the_fmap_end() -> None:
    state, mem = fresh()
    size = state.fmap.size
    with pytest.raises(BufferFault, match=re.escape(
            f"(MVM): reads bytes {size - 2}..{size + 1} of the fmap buffer")):
        run(state, mem, make(Opcode.MVM, shift_cut=0, wgt_addr=0, vec_addr=size - 2,
                             bias_addr=0, out_addr=0, rows=1, cols=4))


# ---------------------------------------------------------------------------------------------
# ACT


FUNCS = {
    ActFunc.IDENTITY: lambda v: v,
    ActFunc.RELU: lambda v: max(v, 0.0),
    ActFunc.SIGMOID: lambda v: 1 / (1 + math.exp(-v)),
    ActFunc.TANH: math.tanh,
    ActFunc.HARDSWISH: lambda v: v * min(max(v + 3, 0.0), 6.0) / 6,
    ActFunc.HARDSIGMOID: lambda v: min(max(v + 3, 0.0), 6.0) / 6,
    ActFunc.SILU: lambda v: v * (1 / (1 + math.exp(-v))),
}


@pytest.mark.parametrize("func", list(FUNCS))  # GELU: tests/compiler/test_transformer.py
@pytest.mark.parametrize(("in_frac", "out_frac"), [(5, 7), (4, 6), (-2, 3), (0, -1)])
def test_act_int8_table(func: ActFunc, in_frac: int, out_frac: int) -> None:
    """Every int8 input once, in place (out_addr == in_addr)."""
    q = np.arange(-128, 128, dtype=np.int8)
    state, mem = fresh()
    state.fmap[100:356] = q
    run(state, mem, make(Opcode.ACT, func=func, in_frac=in_frac, out_frac=out_frac,
                         in_addr=100, out_addr=100, length=256))
    expected = [ref_sat8(math.floor(FUNCS[func](int(v) / 2**in_frac) * 2**out_frac + 0.5))
                for v in q]
    np.testing.assert_array_equal(state.fmap[100:356], expected)


_SILU = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]


@pytest.mark.parametrize(("func", "nodes"), [
    (ActFunc.SIGMOID, [helper.make_node("Sigmoid", ["x"], ["y"])]),
    (ActFunc.TANH, [helper.make_node("Tanh", ["x"], ["y"])]),
    (ActFunc.RELU, [helper.make_node("Relu", ["x"], ["y"])]),
    (ActFunc.HARDSWISH, [helper.make_node("HardSwish", ["x"], ["y"])]),
    (ActFunc.HARDSIGMOID, [helper.make_node("HardSigmoid", ["x"], ["y"], alpha=1 / 6, beta=0.5)]),
    (ActFunc.SILU, _SILU),  # as PyTorch exports SiLU
])
def test_act_fp32_matches_onnxruntime(func: ActFunc, nodes: list) -> None:
    x = np.random.default_rng(11).standard_normal(50).astype(np.float32) * 4
    state, mem = fresh("fp32")
    state.fmap[0:50] = x
    run(state, mem, make(Opcode.ACT, func=func, in_frac=3, out_frac=3, in_addr=0, out_addr=64,
                         length=50))
    expected = ort_run(nodes, {"x": x})
    np.testing.assert_allclose(state.fmap[64:114], expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# ROW


@pytest.mark.parametrize("mode", ["int8", "fp32"])
def test_layernorm_in_parts_equals_the_whole_rows(mode: str) -> None:
    """LayerNorm of 5 rows of 40 elements as ROWs writing elements [0, 16), [16, 32) and
    [32, 40) (part_start 0, 1, 2; part_len 1, 1 and 0: to the row's end), each with only its
    part's scale and bias at address 0, out of place: the outputs of one ROW."""
    rng = np.random.default_rng(13)
    rows, n = 5, 40
    int8 = mode == "int8"
    x = (rng.integers(-128, 128, (rows, n)) if int8 else rng.standard_normal((rows, n)))
    g = rng.integers(-128, 128, n) if int8 else rng.standard_normal(n)
    b = rng.integers(-(2**16), 2**16, n) if int8 else rng.standard_normal(n)
    dtype = np.int8 if int8 else np.float32
    fields = dict(func=1, in_frac=4, shift=12, rows=rows, length=n, eps_lo=4096)

    def put(state, part: slice) -> None:
        state.weight[: part.stop - part.start] = g[part].astype(dtype)
        if int8:
            state.bias[: 4 * (part.stop - part.start)] = b[part].astype("<i4").view(np.uint8)
        else:
            state.bias[: 4 * (part.stop - part.start) : 4] = b[part]

    whole, mem = fresh(mode)
    whole.fmap[: rows * n] = x.astype(dtype).ravel()
    put(whole, slice(0, n))
    run(whole, mem, make(Opcode.ROW, in_addr=0, out_addr=1024, **fields))
    state, mem = fresh(mode)
    state.fmap[: rows * n] = x.astype(dtype).ravel()
    for start, length, part in ((0, 1, slice(0, 16)), (1, 1, slice(16, 32)),
                                (2, 0, slice(32, 40))):
        put(state, part)
        run(state, mem, make(Opcode.ROW, in_addr=0, out_addr=1024, part_start=start,
                             part_len=length, **fields))
    np.testing.assert_array_equal(state.fmap[1024 : 1024 + rows * n],
                                  whole.fmap[1024 : 1024 + rows * n])


def test_layernorm_part_past_the_row_is_an_error() -> None:
    state, mem = fresh("int8")
    with pytest.raises(ProgramError, match="part_start = 3"):
        run(state, mem, make(Opcode.ROW, func=1, in_addr=0, out_addr=512, rows=2, length=40,
                             part_start=3))
