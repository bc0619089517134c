"""Tiling invariance at the instruction level: a convolution computed as several CONV
instructions over row and column slices of the output (each with its own window and edge
padding) writes exactly the bytes one CONV over the whole block writes."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fvir.isa import Act, Opcode

from .helpers import fresh, make, put_block, run

IN_ADDR, OUT_ADDR = 0, 6000


@st.composite
def conv_problems(draw: st.DrawFn) -> dict:
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ext_h, ext_w = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    # Padding on a side stays below the kernel's extent, as in any real layer.
    pads = (draw(st.integers(0, ext_h - 1)), draw(st.integers(0, ext_w - 1)),
            draw(st.integers(0, ext_h - 1)), draw(st.integers(0, ext_w - 1)))
    rows, cols = draw(st.integers(1, 7)), draw(st.integers(1, 6))
    in_rows = (rows - 1) * sh + ext_h - pads[0] - pads[2]
    in_cols = (cols - 1) * sw + ext_w - pads[1] - pads[3]
    assume(in_rows >= 1 and in_cols >= 1)
    depthwise = draw(st.booleans())
    ic = draw(st.integers(1, 6))
    oc = ic if depthwise else draw(st.integers(1, 5))
    row_cuts = sorted(set(draw(st.lists(st.integers(1, rows - 1), max_size=3)))) if rows > 1 else []
    col_cuts = sorted(set(draw(st.lists(st.integers(1, cols - 1), max_size=2)))) if cols > 1 else []
    return dict(kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw, pads=pads, rows=rows, cols=cols,
                in_rows=in_rows, in_cols=in_cols, ic=ic, oc=oc, depthwise=depthwise,
                act=draw(st.sampled_from(list(Act))), act_arg=draw(st.integers(0, 255)),
                shift_cut=draw(st.integers(0, 12)), row_cuts=row_cuts, col_cuts=col_cuts,
                in_gap=draw(st.integers(0, 3)), out_gap=draw(st.integers(0, 3)),
                seed=draw(st.integers(0, 2**16)))


def _slices(n: int, cuts: list[int]) -> list[tuple[int, int]]:
    bounds = [0, *cuts, n]
    return list(itertools.pairwise(bounds))


def _edge(lo: int, hi: int, stride: int, extent: int, pad_lo: int,
          size: int) -> tuple[int, int, int]:
    """For outputs lo..hi-1 along one axis: first input index, padding before, padding after."""
    start = lo * stride - pad_lo
    end = (hi - 1) * stride + extent - pad_lo
    return max(start, 0), max(0, -start), max(0, end - size)


def _run(p: dict, mode: str, tiled: bool) -> np.ndarray:
    rng = np.random.default_rng(p["seed"])
    state, mem = fresh(mode)
    in_pix = p["ic"] + p["in_gap"]
    in_row = p["in_cols"] * in_pix + p["in_gap"]
    out_pix = p["oc"] + p["out_gap"]
    out_row = p["cols"] * out_pix
    if mode == "int8":
        x = rng.integers(-128, 128, (p["in_rows"], p["in_cols"], p["ic"])).astype(np.int8)
        nw = p["kh"] * p["kw"] * p["oc"] * (1 if p["depthwise"] else p["ic"])
        state.weight[:nw] = rng.integers(-128, 128, nw).astype(np.int8)
        state.bias[: 4 * p["oc"]] = rng.integers(-3000, 3000, p["oc"]).astype("<i4").view(
            np.uint8)
    else:
        x = rng.standard_normal((p["in_rows"], p["in_cols"], p["ic"])).astype(np.float32)
        nw = p["kh"] * p["kw"] * p["oc"] * (1 if p["depthwise"] else p["ic"])
        state.weight[:nw] = rng.standard_normal(nw).astype(np.float32)
        state.bias[: 4 * p["oc"] : 4] = rng.standard_normal(p["oc"]).astype(np.float32)
    put_block(state.fmap, IN_ADDR, in_row, in_pix, x)
    program = [make(Opcode.CONVINIT, act=p["act"], act_arg=p["act_arg"],
                    shift_cut=p["shift_cut"], kernel_h=p["kh"], kernel_w=p["kw"],
                    stride_h=p["sh"], stride_w=p["sw"], dilation_h=p["dh"], dilation_w=p["dw"],
                    in_row_stride=in_row, out_row_stride=out_row, in_pix_stride=in_pix,
                    out_pix_stride=out_pix)]
    row_slices = _slices(p["rows"], p["row_cuts"] if tiled else [])
    col_slices = _slices(p["cols"], p["col_cuts"] if tiled else [])
    ext_h = (p["kh"] - 1) * p["dh"] + 1
    ext_w = (p["kw"] - 1) * p["dw"] + 1
    for r0, r1 in row_slices:
        y0, pt, pb = _edge(r0, r1, p["sh"], ext_h, p["pads"][0], p["in_rows"])
        for c0, c1 in col_slices:
            x0, pl, pr = _edge(c0, c1, p["sw"], ext_w, p["pads"][1], p["in_cols"])
            program.append(make(
                Opcode.CONV, pad_t=pt, pad_l=pl, pad_b=pb, pad_r=pr,
                depthwise=int(p["depthwise"]), in_addr=IN_ADDR + y0 * in_row + x0 * in_pix,
                wgt_addr=0, bias_addr=0, out_addr=OUT_ADDR + r0 * out_row + c0 * out_pix,
                rows=r1 - r0, cols=c1 - c0, ic=p["ic"], oc=p["oc"]))
    run(state, mem, *program)
    return state.fmap.copy()


@settings(max_examples=120, deadline=None)
@given(conv_problems())
def test_sliced_conv_equals_whole_conv_int8(p: dict) -> None:
    np.testing.assert_array_equal(_run(p, "int8", tiled=True), _run(p, "int8", tiled=False))


@settings(max_examples=40, deadline=None)
@given(conv_problems())
def test_sliced_conv_equals_whole_conv_fp32(p: dict) -> None:
    np.testing.assert_allclose(_run(p, "fp32", tiled=True), _run(p, "fp32", tiled=False),
                               rtol=1e-5, atol=1e-5)
