"""`run_package` on a hand-built package: a 3x3 conv + relu tiled into two row frames (with
halos and edge padding) followed by a host softmax. int8 mode bit-exact against an independent
quantized computation, fp32 mode against onnxruntime; errors located by layer and frame."""

from __future__ import annotations

import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from fvir.backend import MemoryFault, ProgramError, run_package
from fvir.errors import UserError
from fvir.hw import TINY
from fvir.ifp.package import (
    FRAME_DTYPE,
    RELOC_DTYPE,
    Layer,
    Package,
    Segment,
    SegmentKind,
    TensorInfo,
)
from fvir.isa import Act, Buf, Instruction, Opcode, encode
from fvir.reference.int8 import run_host

from .helpers import CORE, make, ref_conv_acc, ref_requant_block

N, C, H, W, OC = 1, 3, 6, 5, 4
FX, FW, FY = 5, 6, 4  # fixed-point exponents: input, weights, conv output
BIAS_OFF = 112
TILES = [(0, 3), (3, 6)]

HOST_IR = """
func.func @main(%y: tensor<1x4x6x5xf32>) -> tensor<1x4x6x5xf32> {
  %z = dnn.softmax %y axis 1 : tensor<1x4x6x5xf32>
  func.return %z : tensor<1x4x6x5xf32>
}
"""


def _rng_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    wq = rng.integers(-100, 100, (OC, 3, 3, C)).astype(np.int8)  # [oc][kh][kw][ic]
    bq = rng.integers(-3000, 3000, OC).astype(np.int32)  # at the accumulator's scale
    x = (rng.standard_normal((N, C, H, W)) * 1.5).astype(np.float32)
    x[0, 0, 0, :3] = [10.0, -10.0, 0.015625]  # saturating and round-half-up values
    return wq, bq, x


def _dma(op: Opcode, dpdon: str = "-", dpdby: str = "-", **f: int) -> Instruction:
    defaults = dict(seg=31, off=0, addr=0, rows=1, cols=1, chans=1, buf_pix_stride=0,
                    ddr_row_stride=0, ddr_pix_stride=0, buf_row_stride=0)
    return make(op, dpdon, dpdby, **{**defaults, **f})


def frame(r0: int, r1: int, *, convinit: bool = True, load_weights: bool = True) -> tuple[
        list[Instruction], list[int]]:
    """One tile: its instructions and the segment of each (None for non-DMA)."""
    y0, y1 = max(r0 - 1, 0), min(r1 + 1, H)
    prog: list[tuple[Instruction, int | None]] = [
        (_dma(Opcode.LOAD, buf=Buf.FMAP, off=y0 * W * C, rows=y1 - y0, cols=W, chans=C,
              buf_pix_stride=4, ddr_row_stride=W * C, ddr_pix_stride=C, buf_row_stride=4 * W), 1),
    ]
    if load_weights:
        prog.append((_dma(Opcode.LOAD, buf=Buf.WEIGHT, chans=OC * 9 * C), 0))
    prog.append((_dma(Opcode.LOAD, dpdby="C", buf=Buf.BIAS, off=BIAS_OFF, chans=4 * OC), 0))
    if convinit:
        prog.append((make(Opcode.CONVINIT, act=Act.RELU, shift_cut=FX + FW - FY, kernel_h=3,
                          kernel_w=3, stride_h=1, stride_w=1, in_row_stride=4 * W,
                          out_row_stride=4 * W, in_pix_stride=4, out_pix_stride=4), None))
    prog += [
        (make(Opcode.CONV, "L", "S", pad_t=int(r0 == 0), pad_b=int(r1 == H), pad_l=1, pad_r=1,
              in_addr=0, wgt_addr=0, bias_addr=0, out_addr=1024, rows=r1 - r0, cols=W, ic=C,
              oc=OC), None),
        (_dma(Opcode.SAVE, "C", buf=Buf.FMAP, seg=31, off=r0 * W * OC, addr=1024, rows=r1 - r0,
              cols=W, chans=OC, buf_pix_stride=4, ddr_row_stride=W * OC, ddr_pix_stride=OC,
              buf_row_stride=4 * W), 2),
    ]
    return [i for i, _ in prog], [s for _, s in prog]


def build(*, output_size: int = 600, frame1: dict | None = None,
          with_f32: bool = True) -> Package:
    wq, bq, _ = _rng_model()
    instrs: list[Instruction] = []
    relocs: list[tuple[int, int]] = []
    frames = np.zeros(len(TILES), FRAME_DTYPE)
    for k, (r0, r1) in enumerate(TILES):
        body, segs = frame(r0, r1, **((frame1 or {}) if k == 1 else {}))
        frames[k] = (0, k, 100, len(instrs), len(body), 0, 0, (0, 0, 0))
        relocs += [(len(instrs) + j, s) for j, s in enumerate(segs) if s is not None]
        instrs += body
    weights = np.zeros(128, np.uint8)
    weights[: wq.size] = wq.view(np.uint8).ravel()
    weights[BIAS_OFF : BIAS_OFF + 4 * OC] = bq.astype("<i4").view(np.uint8)
    weights_f32 = np.zeros(128, np.float32)
    weights_f32[: wq.size] = wq.ravel() / 2.0**FW
    weights_f32[BIAS_OFF : BIAS_OFF + 4 * OC : 4] = bq / 2.0 ** (FX + FW)
    return Package(
        name="tiny-conv",
        core_hash=CORE.config_hash(),
        segments=[Segment("weights", SegmentKind.WEIGHTS, 128),
                  Segment("input", SegmentKind.INPUT, N * C * H * W),
                  Segment("output", SegmentKind.OUTPUT, output_size)],
        tensors=[TensorInfo("x", 1, 0, (N, C, H, W), "int8", FX),
                 TensorInfo("y", 2, 0, (N, OC, H, W), "int8", FY),
                 TensorInfo("z", 2, 120, (N, OC, H, W), "float32", layout="flat")],
        inputs=[0], outputs=[1, 2], input_names=["x"], output_names=["y", "z"],
        layers=[Layer("conv", "conv2d", (0,), (1,), 0, len(TILES)),
                Layer("softmax", "host", (1,), (2,), host_ir=HOST_IR)],
        frames=frames,
        words=encode(instrs),
        relocs=np.array(relocs, RELOC_DTYPE),
        weights=weights,
        weights_f32=weights_f32 if with_f32 else None,
    )


def _softmax(y: np.ndarray) -> np.ndarray:
    e = np.exp(y - y.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def expected_int8() -> tuple[np.ndarray, np.ndarray]:
    """Quantize, convolve in Python integers, requantize, dequantize; softmax in numpy."""
    wq, bq, x = _rng_model()
    qx = np.clip(np.floor(x.astype(np.float64) * 2**FX + 0.5), -128, 127).astype(np.int64)
    acc = ref_conv_acc(qx[0].transpose(1, 2, 0), wq.astype(np.int64), H, W, (1, 1), (1, 1),
                       (1, 1, 1, 1), False)
    q = ref_requant_block(acc, bq, 0, FX + FW - FY, Act.RELU, 0)
    y = (q.astype(np.float32) / 2**FY).transpose(2, 0, 1)[None]
    return y, _softmax(y)


def test_int8_run_is_bit_exact() -> None:
    _, _, x = _rng_model()
    y, z = run_package(build(), [x], CORE, host=run_host)
    y_ref, z_ref = expected_int8()
    assert y.dtype == z.dtype == np.float32
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(z, z_ref, rtol=1e-6)


def test_fp32_run_matches_onnxruntime() -> None:
    wq, bq, x = _rng_model()
    w = (wq.astype(np.float32) / 2**FW).transpose(0, 3, 1, 2)  # OIHW
    b = (bq / 2.0 ** (FX + FW)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["y"]),
         helper.make_node("Softmax", ["y"], ["z"], axis=1)],
        "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, C, H, W])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "z")],
        [onnx.numpy_helper.from_array(w, "w"), onnx.numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y_ref, z_ref = sess.run(None, {"x": x})
    y, z = run_package(build(), [x], CORE, "fp32", host=run_host)
    np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(z, z_ref, rtol=1e-5, atol=1e-6)


def test_a_frame_must_issue_its_own_convinit() -> None:
    _, _, x = _rng_model()
    with pytest.raises(ProgramError) as info:
        run_package(build(frame1={"convinit": False}), [x], CORE, tenant="alice", host=run_host)
    assert str(info.value) == ("tenant 'alice', layer 'conv', frame 1, instruction 3 (CONV): no "
                               "CONVINIT before it (a frame must issue its own)")


@pytest.mark.parametrize("mode", ["int8", "fp32"])
def test_poisoned_buffers_expose_a_frame_using_stale_weights(mode: str) -> None:
    """Frame 1 forgets to load its weights. On the same core right after frame 0 that goes
    unnoticed (poison=False); any other placement would compute garbage, which poisoning the
    buffers between frames shows here."""
    _, _, x = _rng_model()
    package = build(frame1={"load_weights": False})
    y_ref = run_package(build(), [x], CORE, mode, host=run_host)[0]
    y_clean = run_package(package, [x], CORE, mode, poison=False, host=run_host)[0]
    np.testing.assert_array_equal(y_clean, y_ref)
    y_bad = run_package(package, [x], CORE, mode, host=run_host)[0]
    np.testing.assert_array_equal(y_bad[:, :, :3], y_ref[:, :, :3])  # frame 0 is fine
    assert not np.array_equal(y_bad[:, :, 3:], y_ref[:, :, 3:])
    if mode == "fp32":
        assert np.isnan(y_bad[:, :, 3:]).all()


def test_save_outside_the_output_segment_faults() -> None:
    _, _, x = _rng_model()
    with pytest.raises(MemoryFault) as info:
        run_package(build(output_size=100), [x], CORE, tenant="bob", host=run_host)
    assert str(info.value) == ("tenant 'bob', layer 'conv', frame 1, instruction 5 (SAVE): "
                               "writes bytes 60..119 of segment 2 ('output', 100 bytes), outside "
                               "the segment")


def test_package_level_errors() -> None:
    _, _, x = _rng_model()
    with pytest.raises(UserError, match="was compiled for another core"):
        run_package(build(), [x], TINY.core, host=run_host)
    with pytest.raises(UserError, match=re.escape("takes 1 input(s), got 2")):
        run_package(build(), [x, x], CORE, host=run_host)
    with pytest.raises(UserError, match=re.escape("tensor 'x' has shape [1, 3, 6, 5], got "
                                                  "[1, 3, 5, 6]")):
        run_package(build(), [x.transpose(0, 1, 3, 2)], CORE, host=run_host)
    with pytest.raises(UserError, match="fp32 mode needs them"):
        run_package(build(with_f32=False), [x], CORE, "fp32", host=run_host)
    package = build()
    package.relocs = package.relocs[1:]
    with pytest.raises(UserError, match="LOAD/SAVE instruction 0 has no relocation"):
        run_package(package, [x], CORE, host=run_host)
