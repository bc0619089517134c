"""dnn-unroll-rnn with a constant sequence_lens shorter than seq in some batch rows: each row's
chains run its own steps (forward 0..L-1, reverse L-1..0), Y is zero past L and Y_h / Y_c are
the state after the chain's last step. fp32 against onnxruntime; compiled int8 bit-exact with
the int8 reference. Empty rows (L = 0) stay fused."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from test_unroll_directions import (
    ALL_OUT,
    CELLS,
    _compiled,
    assert_bit_exact_on_one_and_three_cores,
    check_fp32,
    rnn_model,
)

from fvir.backend.functional import run_package
from fvir.frontend.onnx import import_model
from fvir.ir import dnn
from fvir.passes.dnn_unroll_rnn import unroll
from fvir.reference.int8 import run_host


def with_lens(model: onnx.ModelProto, lens: list[int]) -> onnx.ModelProto:
    """`model` (built with seq_lens=True) with every layer's sequence_lens set to `lens`."""
    for init in model.graph.initializer:
        if init.name.startswith("L"):
            init.CopyFrom(numpy_helper.from_array(np.array(lens, np.int32), init.name))
    return model


@pytest.mark.parametrize("max_batch", [None, 1])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize(("op_type", "attrs"), CELLS)
@pytest.mark.parametrize(("lens", "layers", "states"),
                         [([5, 3, 1], 1, False), ([5, 3, 1], 2, True), ([2, 4, 5], 2, False)])
def test_short_rows_match_onnxruntime(op_type, attrs, direction, lens, layers, states,
                                      max_batch):
    model = rnn_model(op_type, 5, 3, 3, 4, layers=layers, direction=direction, states=states,
                      seq_lens=True, outputs=ALL_OUT[op_type], **attrs)
    check_fp32(with_lens(model, lens), 5, 3, 3, max_batch=max_batch)


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("lens", [[3], [1], [3, 3]])
def test_uniform_short_lens(direction, lens):
    """Every row equally short: one chain of rows (the reference) or one row; the single
    chain's h_last is read from inside Y's concat."""
    for op_type, attrs in CELLS:
        model = rnn_model(op_type, 4, len(lens), 3, 4, layers=2, direction=direction,
                          seq_lens=True, outputs=ALL_OUT[op_type], **attrs)
        for max_batch in (None, 1):
            check_fp32(with_lens(model, lens), 4, len(lens), 3, max_batch=max_batch)


def test_peepholes_gemm_and_y_h_only():
    model = rnn_model("LSTM", 5, 3, 3, 4, layers=2, direction="bidirectional", states=True,
                      peepholes=True, seq_lens=True, outputs="y,yh,yc")
    check_fp32(with_lens(model, [5, 3, 1]), 5, 3, 3, max_batch=1)
    check_fp32(with_lens(model, [2, 2, 2]), 5, 3, 3, gemm=True)
    model = rnn_model("GRU", 5, 3, 3, 4, layers=2, direction="forward", seq_lens=True,
                      outputs="yh")
    check_fp32(with_lens(model, [5, 3, 1]), 5, 3, 3, max_batch=1)
    imported = import_model(with_lens(model, [5, 3, 1]))
    unroll(imported.module, imported.weights, max_batch=1)
    names = [op.results[0].name_hint or "" for op in imported.module.walk() if op.results]
    assert not any(".pad." in n for n in names)  # Y unused: no padding left behind


@pytest.mark.parametrize(("lens", "why"), [
    ([3, 0], "sequence_lens with an empty batch row"),
    ([0, 0], "sequence_lens with an empty batch row"),
    ([4, 2], "sequence_lens outside 1..seq"),
])
def test_invalid_lens_stay_fused(lens, why):
    model = with_lens(rnn_model("LSTM", 3, 2, 3, 4, seq_lens=True), lens)
    imported = import_model(model)
    left = unroll(imported.module, imported.weights, max_batch=1)
    assert [w for _, w in left] == [why]
    assert any(isinstance(op, dnn.LstmOp) for op in imported.module.walk())


@pytest.mark.parametrize(("op_type", "direction", "outputs", "attrs"), [
    ("LSTM", "forward", "y,yh,yc", {}),
    ("LSTM", "bidirectional", "y,yh,yc", {}),
    ("GRU", "reverse", "y,yh", {"linear_before_reset": 1}),
    ("GRU", "bidirectional", "yh", {}),
    ("RNN", "bidirectional", "y,yh", {}),
])
def test_compiled_short_rows_are_bit_exact(op_type, direction, outputs, attrs):
    model = rnn_model(op_type, 5, 3, 8, 16, layers=2, direction=direction, states=True,
                      seq_lens=True, outputs=outputs, **attrs)
    assert_bit_exact_on_one_and_three_cores(*_compiled(with_lens(model, [5, 3, 1])))


@pytest.mark.parametrize(("op_type", "direction"), [("LSTM", "forward"), ("GRU", "reverse")])
def test_compiled_single_row_short(op_type, direction):
    """One batch row shorter than seq: a single chain, Y_h split out of Y's concat."""
    model = with_lens(rnn_model(op_type, 5, 1, 8, 16, layers=2, direction=direction,
                                seq_lens=True, outputs=ALL_OUT[op_type]), [3])
    hw, package, x, want = _compiled(model)
    for a, b in zip(want, run_package(package, [x], hw.core, "int8", host=run_host), strict=True):
        np.testing.assert_array_equal(a, b)
    check_fp32(model, 5, 1, 8, max_batch=1)
