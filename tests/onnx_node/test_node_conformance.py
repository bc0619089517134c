"""ONNX's own backend node tests, run through fvir's ONNX Backend API.

`onnx.backend.test.case.node.collect_testcases(None)` builds every node-test case (model,
inputs and expected outputs) offline. We run the cases of the ops fvir covers (`GROUPS`)
through `fvir.onnx_backend` and compare with ONNX's expected outputs (rtol 1e-4, atol 1e-5;
integer and bool outputs exactly). Cases fvir knowingly does not support are listed with
their reason in `unsupported.py` (by name, or by pattern for families such as Cast to 8-bit
floats) and reported as skips; each of them must fail with a one-line UserError.
"""

from __future__ import annotations

import fnmatch
import functools
import warnings

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx.backend.test.case.node import collect_testcases
from onnx.backend.test.case.test_case import TestCase

from fvir import onnx_backend
from fvir.errors import UserError

from .unsupported import DIFFERENT, IMPORTER_XFAIL, UNSUPPORTED, UNSUPPORTED_PATTERNS

RTOL, ATOL = 1e-4, 1e-5

# Cases whose expected values ONNX wrote down rounded, so rtol 1e-4 cannot hold: name ->
# (rtol, why). ONNX's own runner uses rtol 1e-3 for every case.
LOOSER_RTOL: dict[str, tuple[float, str]] = {
    "test_averagepool_2d_ceil_last_window_starts_on_pad": (
        1e-3,
        "expected outputs are given to 4 decimals (0.1511 for 0.151056)",
    ),
}

# Op group -> name patterns of its node tests (fnmatch); every in-scope case is in one group.
GROUPS: dict[str, tuple[str, ...]] = {
    "lstm": ("test_lstm_*",),
    "gru": ("test_gru_*",),
    "rnn": ("test_rnn_*", "test_simple_rnn_*"),
    "conv": ("test_conv*", "test_basic_conv*"),
    "pool": ("test_*pool*",),
    "gemm": ("test_gemm*",),
    "matmul": ("test_matmul*",),
    "batchnorm": ("test_batchnorm_*",),
    "concat": ("test_concat_*",),
    "relu": ("test_relu*",),
    "sigmoid": ("test_sigmoid*",),
    "tanh": ("test_tanh*",),
    "softmax": ("test_softmax_*",),
    "flatten": ("test_flatten_*",),
    "reshape": ("test_reshape_*",),
    "transpose": ("test_transpose_*",),
    "add": ("test_add*",),
    "sum": ("test_sum_*",),
    "clip": ("test_clip*",),
    "leakyrelu": ("test_leakyrelu*",),
    "mul": ("test_mul*",),
    "sub": ("test_sub*",),
    "div": ("test_div*",),
    "lrn": ("test_lrn*",),
    "dropout": ("test_dropout*", "test_training_dropout*"),
    "identity": ("test_identity*",),
    "logsoftmax": ("test_logsoftmax_*",),
    "hardmax": ("test_hardmax_*",),
    "instancenorm": ("test_instancenorm_*",),
    "layernorm": ("test_layer_normalization_*",),
    "reduce_max": ("test_reduce_max_*",),
    "reduce_min": ("test_reduce_min_*",),
    "reduce_mean": ("test_reduce_mean_*",),
    "reduce_sum": ("test_reduce_sum_[!s]*",),  # not ReduceSumSquare
    "reduce_prod": ("test_reduce_prod_*",),
    "argmax": ("test_argmax_*",),
    "argmin": ("test_argmin_*",),
    "slice": ("test_slice", "test_slice_*"),
    "split": ("test_split_[!t]*",),  # not SplitToSequence
    "squeeze": ("test_squeeze", "test_squeeze_*"),
    "unsqueeze": ("test_unsqueeze_*",),
    "shape": ("test_shape", "test_shape_*"),
    "size": ("test_size", "test_size_*"),
    "max": ("test_max_*",),
    "min": ("test_min_*",),
    "mean": ("test_mean_*",),
    "resize": ("test_resize_*",),
    "pad": ("test_constant_pad*", "test_edge_pad", "test_reflect_pad", "test_wrap_pad"),
    "gather": ("test_gather_[!e]*",),  # not GatherElements
    "cast": ("test_cast_*", "test_castlike_*"),
    "constant": ("test_constant", "test_constantofshape_*"),
    "range": ("test_range_*",),
    "tile": ("test_tile", "test_tile_*"),
    "expand": ("test_expand_*",),
    "where": ("test_where_*",),
    "compare": ("test_equal*", "test_less*", "test_greater*"),
    "logical": ("test_and*", "test_or*", "test_xor*", "test_not_*"),
    "mod": ("test_mod_*",),
    "pow": ("test_pow", "test_pow_*"),
    "unary": (
        "test_abs",
        "test_neg",
        "test_neg_example",
        "test_reciprocal*",
        "test_floor*",
        "test_ceil*",
        "test_sqrt*",
        "test_sign",
        "test_erf",
        "test_exp",
        "test_exp_*",
        "test_log",
        "test_log_*",
        "test_sin",
        "test_sin_*",
        "test_cos",
        "test_cos_*",
    ),
    "activation": (
        "test_elu",
        "test_elu_*",
        "test_selu",
        "test_selu_*",
        "test_gelu_*",
        "test_prelu_*",
        "test_thresholdedrelu*",
        "test_hardsigmoid*",
        "test_hardswish*",
        "test_softplus*",
        "test_softsign*",
    ),
}

# How many cases of each group pass (everything in scope minus unsupported and IMPORTER_XFAIL),
# with onnx 1.23's node tests. A change here is a change in conformance: update the note too.
EXPECTED_PASSED: dict[str, int] = {
    "lstm": 6,
    "gru": 6,
    "rnn": 6,
    "conv": 17,
    "pool": 31,
    "gemm": 11,
    "matmul": 7,
    "batchnorm": 2,
    "concat": 12,
    "relu": 2,
    "sigmoid": 2,
    "tanh": 2,
    "softmax": 21,
    "flatten": 9,
    "reshape": 10,
    "transpose": 7,
    "add": 8,
    "sum": 3,
    "clip": 24,
    "leakyrelu": 6,
    "mul": 9,
    "sub": 9,
    "div": 10,
    "lrn": 2,
    "dropout": 8,
    "identity": 1,
    "logsoftmax": 21,
    "hardmax": 7,
    "instancenorm": 2,
    "layernorm": 57,
    "reduce_max": 11,
    "reduce_min": 10,
    "reduce_mean": 8,
    "reduce_sum": 12,
    "reduce_prod": 9,
    "argmax": 16,
    "argmin": 16,
    "slice": 8,
    "split": 16,
    "squeeze": 2,
    "unsqueeze": 7,
    "shape": 11,
    "size": 2,
    "max": 14,
    "min": 14,
    "mean": 3,
    "resize": 17,
    "pad": 6,
    "gather": 4,
    "cast": 18,
    "constant": 4,
    "range": 3,
    "tile": 2,
    "expand": 2,
    "where": 2,
    "compare": 56,
    "logical": 27,
    "mod": 19,
    "pow": 12,
    "unary": 21,
    "activation": 46,
}


def group_of(name: str) -> str | None:
    for group, patterns in GROUPS.items():
        if any(fnmatch.fnmatchcase(name, p) for p in patterns):
            return group
    return None


@functools.cache
def all_cases() -> dict[str, TestCase]:
    """Every ONNX node-test case by name (generated once: it takes a few seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some generators divide by zero on purpose
        return {case.name: case for case in collect_testcases(None)}


def in_scope() -> list[str]:
    return sorted(name for name in all_cases() if group_of(name) is not None)


_RESULTS: dict[str, bool] = {}  # case name -> passed, filled as cases run


def check_case(name: str) -> None:
    """Run one case through the Backend API; raise (assertion or error) if it does not pass."""
    case = all_cases()[name]
    assert case.model is not None and case.data_sets is not None
    rtol = LOOSER_RTOL.get(name, (RTOL, ""))[0]
    try:
        rep = onnx_backend.prepare(case.model, device="CPU")
        for inputs, expected in case.data_sets:
            outputs = rep.run(list(inputs))  # TensorProto inputs are the backend's to convert
            assert len(outputs) == len(expected), f"{len(outputs)} outputs, want {len(expected)}"
            for i, (got, want) in enumerate(zip(outputs, expected, strict=True)):
                got, want = np.asarray(got), _array(want)
                assert got.dtype == want.dtype, f"output {i}: dtype {got.dtype}, want {want.dtype}"
                assert got.shape == want.shape, f"output {i}: shape {got.shape}, want {want.shape}"
                if want.dtype.kind in "biu":
                    np.testing.assert_array_equal(got, want, err_msg=f"output {i}")
                else:
                    np.testing.assert_allclose(
                        got, want, rtol=rtol, atol=ATOL, err_msg=f"output {i}"
                    )
    except BaseException:
        _RESULTS[name] = False
        raise
    _RESULTS[name] = True


def _array(value: object) -> np.ndarray:
    """An expected output as numpy: ONNX stores some (Cast's special values) as TensorProto."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return np.asarray(value)


def unsupported_reason(name: str) -> str | None:
    """Why fvir knowingly does not pass case `name` (`UNSUPPORTED`, `DIFFERENT`, then the
    first matching `UNSUPPORTED_PATTERNS`), or None."""
    if name in UNSUPPORTED or name in DIFFERENT:
        return UNSUPPORTED.get(name) or DIFFERENT[name]
    for pattern, reason in UNSUPPORTED_PATTERNS.items():
        if fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


def passes(name: str) -> bool:
    if name not in _RESULTS:
        try:
            check_case(name)
        except Exception:
            pass
    return _RESULTS[name]


def _params() -> list:
    params = []
    for name in in_scope():
        marks = []
        if (reason := unsupported_reason(name)) is not None:
            marks.append(pytest.mark.skip(reason=f"unsupported: {reason}"))
        elif name in IMPORTER_XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=IMPORTER_XFAIL[name]))
        params.append(pytest.param(name, id=name, marks=marks))
    return params


@pytest.mark.parametrize("name", _params())
def test_node(name: str) -> None:
    check_case(name)


def test_exclusion_lists_name_real_in_scope_cases() -> None:
    scope = set(in_scope())
    for table in (UNSUPPORTED, DIFFERENT, IMPORTER_XFAIL, LOOSER_RTOL):
        stale = sorted(set(table) - scope)
        assert not stale, f"not in-scope ONNX node tests: {stale}"
        assert all(str(reason).strip() for reason in table.values())
    assert not set(UNSUPPORTED) & set(IMPORTER_XFAIL)
    assert not set(DIFFERENT) & (set(UNSUPPORTED) | set(IMPORTER_XFAIL))
    for pattern, reason in UNSUPPORTED_PATTERNS.items():
        assert fnmatch.filter(scope, pattern), f"pattern {pattern!r} matches no in-scope case"
        assert reason.strip()
    assert not [n for n in IMPORTER_XFAIL if unsupported_reason(n) is not None]


@pytest.mark.parametrize(
    "name",
    [n for n in in_scope() if unsupported_reason(n) is not None and n not in DIFFERENT],
)
def test_unsupported_case_is_a_one_line_user_error(name: str) -> None:
    """What fvir does not support it refuses with a one-line UserError, never another
    exception or a wrong answer."""
    with pytest.raises(UserError) as info:
        check_case(name)
    assert "\n" not in str(info.value)


def test_groups_cover_the_brief() -> None:
    """Each in-scope case falls in exactly one group, and every group has cases."""
    for name in in_scope():
        hits = [g for g, pats in GROUPS.items() if any(fnmatch.fnmatchcase(name, p) for p in pats)]
        assert len(hits) == 1, f"{name} is in groups {hits}"
    counts = {g: 0 for g in GROUPS}
    for name in in_scope():
        counts[group_of(name) or ""] += 1
    assert all(counts.values()), counts


def test_conformance_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Per op group: cases passed / skipped as unsupported / xfail (importer bugs)."""
    rows = []
    passed: dict[str, int] = {}
    for group in GROUPS:
        names = [n for n in in_scope() if group_of(n) == group]
        skipped = [n for n in names if unsupported_reason(n) is not None]
        xfail = [n for n in names if n in IMPORTER_XFAIL]
        runnable = [n for n in names if n not in skipped and n not in IMPORTER_XFAIL]
        passed[group] = sum(passes(n) for n in runnable)
        rows.append(f"{group:12} {passed[group]:4} {len(skipped):4} {len(xfail):4} {len(names):5}")
    with capsys.disabled():
        print("\ngroup        pass skip xfail total")
        print("\n".join(rows))
        print(f"{'total':12} {sum(passed.values()):4}")
    assert passed == EXPECTED_PASSED
