"""CONV: int8 results bit-exact against a nested-loop convolution in Python integers; fp32 mode
against onnxruntime's Conv; exactness of reductions longer than float32's 1024-term limit."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from fvir.backend import BufferFault, ProgramError
from fvir.isa import Act, Opcode

from .helpers import (
    CORE,
    fresh,
    get_block,
    make,
    put_block,
    ref_conv_acc,
    ref_requant_block,
    run,
)


@dataclass(frozen=True)
class ConvCase:
    rows: int
    cols: int
    ic: int
    oc: int
    k: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # t, l, b, r
    depthwise: bool = False
    act: Act = Act.NONE
    act_arg: int = 0
    shift_cut: int = 7
    shift_bias: int = 0
    in_gap: int = 0  # extra bytes per input pixel / row in the buffer layout
    out_gap: int = 0

    @property
    def in_rows(self) -> int:
        return ((self.rows - 1) * self.stride[0] + (self.k[0] - 1) * self.dilation[0] + 1
                - self.pads[0] - self.pads[2])

    @property
    def in_cols(self) -> int:
        return ((self.cols - 1) * self.stride[1] + (self.k[1] - 1) * self.dilation[1] + 1
                - self.pads[1] - self.pads[3])

    @property
    def in_pix(self) -> int:
        return self.ic + self.in_gap

    @property
    def in_row(self) -> int:
        return self.in_cols * self.in_pix + self.in_gap

    @property
    def out_pix(self) -> int:
        return self.oc + self.out_gap

    @property
    def out_row(self) -> int:
        return self.cols * self.out_pix + 3 * self.out_gap


CASES = {
    "3x3": ConvCase(4, 5, 3, 4),
    "3x3 pad relu": ConvCase(5, 5, 4, 6, pads=(1, 1, 1, 1), act=Act.RELU),
    "3x3 stride2 asym pad": ConvCase(3, 4, 5, 3, stride=(2, 2), pads=(1, 0, 0, 1)),
    "1x1": ConvCase(3, 3, 8, 5, k=(1, 1), shift_cut=5),
    "1x1 stride2": ConvCase(3, 2, 6, 4, k=(1, 1), stride=(2, 2)),
    "5x3 dilated": ConvCase(3, 3, 3, 2, k=(5, 3), dilation=(2, 3), pads=(2, 1, 2, 3)),
    "7x7 stride2 pad3": ConvCase(4, 4, 3, 4, k=(7, 7), stride=(2, 2), pads=(3, 3, 2, 2)),
    "strided layouts": ConvCase(3, 4, 3, 5, pads=(1, 1, 0, 0), in_gap=5, out_gap=3),
    "relu6": ConvCase(4, 4, 6, 4, act=Act.RELU6, act_arg=40, shift_cut=6),
    "leaky": ConvCase(4, 3, 6, 4, act=Act.LEAKY, act_arg=26, shift_cut=6),
    "shift_bias": ConvCase(3, 3, 4, 4, shift_bias=3, shift_cut=9),
    "no shift": ConvCase(2, 2, 2, 3, k=(1, 1), shift_cut=0),
    "depthwise": ConvCase(4, 4, 6, 6, pads=(1, 1, 1, 1), depthwise=True, shift_cut=6),
    "depthwise stride2": ConvCase(3, 3, 5, 5, stride=(2, 2), pads=(1, 1, 0, 0), depthwise=True,
                                  in_gap=2, act=Act.RELU),
    "tall kernel all padding rows": ConvCase(2, 2, 2, 2, k=(3, 1), pads=(2, 0, 1, 0)),
}

IN_ADDR, OUT_ADDR, WGT_ADDR, BIAS_ADDR = 40, 8000, 100, 64


def case_data(case: ConvCase, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, (case.in_rows, case.in_cols, case.ic), dtype=np.int64)
    wshape = (*case.k, case.oc) if case.depthwise else (case.oc, *case.k, case.ic)
    w = rng.integers(-128, 128, wshape, dtype=np.int64)
    bias = rng.integers(-(1 << 14), 1 << 14, case.oc, dtype=np.int64)
    return x, w, bias


def program(case: ConvCase) -> list:
    return [
        make(Opcode.CONVINIT, act=case.act, act_arg=case.act_arg, shift_cut=case.shift_cut,
             shift_bias=case.shift_bias, kernel_h=case.k[0], kernel_w=case.k[1],
             stride_h=case.stride[0], stride_w=case.stride[1], dilation_h=case.dilation[0],
             dilation_w=case.dilation[1], in_row_stride=case.in_row, out_row_stride=case.out_row,
             in_pix_stride=case.in_pix, out_pix_stride=case.out_pix),
        make(Opcode.CONV, pad_t=case.pads[0], pad_l=case.pads[1], pad_b=case.pads[2],
             pad_r=case.pads[3], depthwise=int(case.depthwise), in_addr=IN_ADDR,
             wgt_addr=WGT_ADDR, bias_addr=BIAS_ADDR, out_addr=OUT_ADDR, rows=case.rows,
             cols=case.cols, ic=case.ic, oc=case.oc),
    ]


def run_case(case: ConvCase, x: np.ndarray, w: np.ndarray, bias: np.ndarray,
             mode: str = "int8") -> np.ndarray:
    """Place the operands in a fresh core's buffers, run CONVINIT + CONV, read the block."""
    state, mem = fresh(mode)
    if mode == "int8":
        put_block(state.fmap, IN_ADDR, case.in_row, case.in_pix, x.astype(np.int8))
        state.weight[WGT_ADDR : WGT_ADDR + w.size] = w.astype(np.int8).ravel()
        state.bias[BIAS_ADDR : BIAS_ADDR + 4 * case.oc] = bias.astype("<i4").view(np.uint8)
    else:
        put_block(state.fmap, IN_ADDR, case.in_row, case.in_pix, x.astype(np.float32))
        state.weight[WGT_ADDR : WGT_ADDR + w.size] = w.astype(np.float32).ravel()
        state.bias[BIAS_ADDR : BIAS_ADDR + 4 * case.oc : 4] = bias.astype(np.float32)
    before = state.fmap.copy()
    run(state, mem, *program(case))
    out = get_block(state.fmap, OUT_ADDR, case.out_row, case.out_pix,
                    (case.rows, case.cols, case.oc))
    # Nothing outside the output block changed (gaps between pixels included).
    touched = np.zeros(state.fmap.size, bool)
    for y in range(case.rows):
        for xx in range(case.cols):
            a = OUT_ADDR + y * case.out_row + xx * case.out_pix
            touched[a : a + case.oc] = True
    np.testing.assert_array_equal(state.fmap[~touched], before[~touched])
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_conv_int8_is_bit_exact(name: str) -> None:
    case = CASES[name]
    x, w, bias = case_data(case)
    acc = ref_conv_acc(x, w, case.rows, case.cols, case.stride, case.dilation, case.pads,
                       case.depthwise)
    expected = ref_requant_block(acc, bias, case.shift_bias, case.shift_cut, case.act,
                                 case.act_arg)
    np.testing.assert_array_equal(run_case(case, x, w, bias), expected)


def _ort_conv(x: np.ndarray, w_oihw: np.ndarray, bias: np.ndarray, case: ConvCase,
              group: int) -> np.ndarray:
    """onnxruntime's Conv (+ activation) on NCHW float32."""
    nodes = [helper.make_node(
        "Conv", ["x", "w", "b"], ["c"], kernel_shape=list(case.k), strides=list(case.stride),
        dilations=list(case.dilation), group=group,
        pads=[case.pads[0], case.pads[1], case.pads[2], case.pads[3]])]
    if case.act == Act.RELU:
        nodes.append(helper.make_node("Relu", ["c"], ["y"]))
    elif case.act == Act.RELU6:
        nodes.append(helper.make_node("Clip", ["c", "lo", "hi"], ["y"]))
    elif case.act == Act.LEAKY:
        nodes.append(helper.make_node("LeakyRelu", ["c"], ["y"], alpha=case.act_arg / 256))
    else:
        nodes.append(helper.make_node("Identity", ["c"], ["y"]))
    inits = [onnx.numpy_helper.from_array(w_oihw.astype(np.float32), "w"),
             onnx.numpy_helper.from_array(bias.astype(np.float32), "b"),
             onnx.numpy_helper.from_array(np.array(0, np.float32), "lo"),
             onnx.numpy_helper.from_array(np.array(6, np.float32), "hi")]
    graph = helper.make_graph(
        nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x.astype(np.float32)})[0]


@pytest.mark.parametrize("name", list(CASES))
def test_conv_fp32_matches_onnxruntime(name: str) -> None:
    case = CASES[name]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((case.in_rows, case.in_cols, case.ic)).astype(np.float32) * 2
    wshape = (*case.k, case.oc) if case.depthwise else (case.oc, *case.k, case.ic)
    w = (rng.standard_normal(wshape) * 0.3).astype(np.float32)
    bias = rng.standard_normal(case.oc).astype(np.float32)
    got = run_case(case, x, w, bias, "fp32")
    w_oihw = (w.transpose(2, 0, 1)[:, None] if case.depthwise else w.transpose(0, 3, 1, 2))
    expected = _ort_conv(x.transpose(2, 0, 1)[None], w_oihw, bias, case,
                         case.ic if case.depthwise else 1)
    np.testing.assert_allclose(got, expected[0].transpose(1, 2, 0), rtol=1e-5, atol=1e-5)


def test_conv_reductions_beyond_1024_terms_are_exact() -> None:
    """ic = 2100: the exact accumulator is odd and above 2**25, so float32 cannot hold it; a bias
    leaves 1 (and 5), so the int8 output shows any rounding of the accumulator."""
    ic = 2100
    case = ConvCase(1, 1, ic, 2, k=(1, 1), shift_cut=0)
    x = np.full((1, 1, ic), -128, np.int64)
    x[0, 0, 0] = 1
    w = np.full((2, 1, 1, ic), -128, np.int64)
    w[:, 0, 0, 0] = 1
    exact = (ic - 1) * 128 * 128 + 1
    assert exact > 1 << 25 and exact % 2 == 1  # not a float32
    bias = np.array([1 - exact, 5 - exact], np.int64)
    np.testing.assert_array_equal(run_case(case, x, w, bias)[0, 0], [1, 5])
    # A 3x3 kernel over 300 channels: 2700 terms per output, random values.
    case = ConvCase(2, 3, 300, 3, pads=(1, 1, 1, 1), shift_cut=12)
    x, w, bias = case_data(case, seed=5)
    acc = ref_conv_acc(x, w, 2, 3, (1, 1), (1, 1), case.pads, False)
    np.testing.assert_array_equal(run_case(case, x, w, bias),
                                  ref_requant_block(acc, bias, 0, 12, 0, 0))


def test_conv_output_may_overwrite_its_own_input() -> None:
    """Operands are read before results are written: a 1x1 conv in place."""
    state, mem = fresh()
    x = np.arange(-6, 6, dtype=np.int8).reshape(1, 3, 4)
    put_block(state.fmap, 0, 12, 4, x)
    state.weight[:16] = np.eye(4, dtype=np.int8).ravel() * 2
    run(state, mem,
        make(Opcode.CONVINIT, shift_cut=1, kernel_h=1, kernel_w=1, stride_h=1, stride_w=1,
             in_row_stride=12, out_row_stride=12, in_pix_stride=4, out_pix_stride=4),
        make(Opcode.CONV, in_addr=0, wgt_addr=0, bias_addr=0, out_addr=0, rows=1, cols=3, ic=4,
             oc=4))
    np.testing.assert_array_equal(get_block(state.fmap, 0, 12, 4, (1, 3, 4)), x)


# ---------------------------------------------------------------------------------------------
# Errors


def _init(**over: int) -> object:
    fields = dict(shift_cut=0, kernel_h=3, kernel_w=3, stride_h=1, stride_w=1, in_row_stride=64,
                  out_row_stride=64, in_pix_stride=8, out_pix_stride=8)
    fields.update(over)
    return make(Opcode.CONVINIT, **fields)


def _conv(**over: int) -> object:
    fields = dict(in_addr=0, wgt_addr=0, bias_addr=0, out_addr=4096, rows=2, cols=2, ic=8, oc=8)
    fields.update(over)
    return make(Opcode.CONV, **fields)


def test_conv_without_convinit_is_a_program_error() -> None:
    state, mem = fresh(tenant="alice")
    with pytest.raises(ProgramError) as info:
        run(state, mem, _conv())
    assert str(info.value) == ("tenant 'alice', instruction 0 (CONV): no CONVINIT before it (a "
                               "frame must issue its own)")


@pytest.mark.parametrize(("over", "message"), [
    ({"stride_h": 0}, "instruction 0 (CONVINIT): stride_h = 0: must be at least 1"),
    ({"kernel_w": 0}, "instruction 0 (CONVINIT): kernel_w = 0: must be at least 1"),
    ({"dilation_h": 0}, "instruction 0 (CONVINIT): dilation_h = 0: must be at least 1"),
])
def test_degenerate_convinit_is_rejected(over: dict[str, int], message: str) -> None:
    state, mem = fresh()
    with pytest.raises(ProgramError, match=re.escape(message)):
        run(state, mem, _init(**over))


def test_conv_errors() -> None:
    state, mem = fresh(tenant="t")
    with pytest.raises(ProgramError, match=re.escape(
            "instruction 1 (CONV): depthwise needs ic == oc, got ic = 8, oc = 4")):
        run(state, mem, _init(), _conv(depthwise=1, oc=4))
    with pytest.raises(ProgramError, match=re.escape(
            "instruction 1 (CONV): padding (4, 0, 4, 0) exceeds the input window of the 2 x 2 "
            "output block")):
        run(state, mem, _init(), _conv(pad_t=4, pad_b=4))
    w_size = CORE.weight_buffer_bytes
    with pytest.raises(BufferFault, match=re.escape(
            f"instruction 1 (CONV): reads bytes {w_size - 100}..{w_size + 475} of the weight "
            f"buffer ({w_size} bytes), outside the buffer")):
        run(state, mem, _init(), _conv(wgt_addr=w_size - 100))
    f_size = CORE.fmap_buffer_bytes
    with pytest.raises(BufferFault, match=re.escape(
            f"(CONV): writes bytes {f_size - 8}..{f_size + 71} of the fmap buffer")):
        run(state, mem, _init(), _conv(out_addr=f_size - 8))
    with pytest.raises(BufferFault, match=re.escape("(CONV): reads bytes 4092..4123 of the bias")):
        run(state, mem, _init(), _conv(bias_addr=4092))


# ---------------------------------------------------------------------------------------------
# Split reductions: partial sums over input-channel chunks in the bias buffer


PSUM_ADDR = 256


@pytest.mark.parametrize("mode", ["int8", "fp32"])
def test_conv_split_over_input_channels_equals_the_whole_reduction(mode: str) -> None:
    """A 3x3 conv over 10 input channels as chunks of 4, 4 and 2 (acc_out, then acc_in +
    acc_out, then acc_in): the same outputs as one CONV, the partial sums in the bias buffer,
    nothing else touched. Each chunk's input window and weights sit where one LOAD puts them."""
    case = ConvCase(3, 4, 10, 5, pads=(1, 1, 1, 1), act=Act.RELU, shift_cut=9, shift_bias=2)
    x, w, bias = case_data(case, seed=3)
    want = run_case(case, x, w, bias, mode)
    state, mem = fresh(mode)
    dtype = np.int8 if mode == "int8" else np.float32
    if mode == "int8":
        state.bias[BIAS_ADDR : BIAS_ADDR + 4 * case.oc] = bias.astype("<i4").view(np.uint8)
    else:
        state.bias[BIAS_ADDR : BIAS_ADDR + 4 * case.oc : 4] = bias.astype(np.float32)
    chunks = [(0, 4), (4, 8), (8, 10)]
    for j, (a, b) in enumerate(chunks):
        n = b - a
        in_row = case.in_cols * n
        put_block(state.fmap, IN_ADDR, in_row, n, x[:, :, a:b].astype(dtype))
        part = w[:, :, :, a:b]
        state.weight[WGT_ADDR : WGT_ADDR + part.size] = part.astype(dtype).ravel()
        run(state, mem,
            make(Opcode.CONVINIT, act=case.act, shift_cut=case.shift_cut,
                 shift_bias=case.shift_bias, kernel_h=3, kernel_w=3, stride_h=1, stride_w=1,
                 in_row_stride=in_row, out_row_stride=case.out_row, in_pix_stride=n,
                 out_pix_stride=case.out_pix),
            make(Opcode.CONV, pad_t=1, pad_l=1, pad_b=1, pad_r=1, in_addr=IN_ADDR,
                 wgt_addr=WGT_ADDR, bias_addr=BIAS_ADDR, out_addr=OUT_ADDR, rows=3, cols=4, ic=n,
                 oc=5, acc_in=int(j > 0), acc_out=int(j < len(chunks) - 1),
                 psum_addr=PSUM_ADDR))
        if j == 0 and mode == "int8":  # the first chunk's sums: bias << 2 plus its products
            acc = ref_conv_acc(x[:, :, :4], w[..., :4], 3, 4, (1, 1), (1, 1), case.pads, False)
            psums = state.bias[PSUM_ADDR : PSUM_ADDR + 4 * 60].view("<i4").reshape(3, 4, 5)
            np.testing.assert_array_equal(psums, acc + (bias << 2))
    got = get_block(state.fmap, OUT_ADDR, case.out_row, case.out_pix, (3, 4, 5))
    if mode == "int8":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_split_conv_checks_its_partial_sums_in_the_bias_buffer() -> None:
    state, mem = fresh()
    b_size = CORE.bias_buffer_bytes
    with pytest.raises(BufferFault, match=re.escape(
            f"(CONV): writes bytes {b_size - 16}..{b_size + 111} of the bias")):
        run(state, mem, _init(), _conv(acc_out=1, psum_addr=b_size - 16))
    with pytest.raises(BufferFault, match=re.escape(
            f"(CONV): reads bytes {b_size - 16}..{b_size + 111} of the bias")):
        run(state, mem, _init(), _conv(acc_in=1, psum_addr=b_size - 16))
