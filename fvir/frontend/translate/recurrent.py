"""Translators of LSTM, GRU and RNN: layout 0 (sequence first) as dnn ops; layout 1 (batch
first) is normalised with transposes around them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from xdsl.ir import SSAValue

from fvir.frontend.translate.registry import translator
from fvir.frontend.values import Val, shape_of
from fvir.ir import dnn
from fvir.onnxops import OpError

if TYPE_CHECKING:
    from fvir.frontend.graph import Importer


def _recurrent(
    g: Importer,
    cls: type[dnn.LstmOp | dnn.GruOp | dnn.RnnOp],
    X: Val,
    W: Val,
    R: Val,
    states: Sequence[Val | None],
    layout: int,
    hidden_size: int | None,
    direction: str,
    **kwargs: Any,
) -> list[SSAValue]:
    try:
        dir_ = dnn.RnnDirection(direction)
    except ValueError:
        raise OpError(f"unknown direction '{direction}'") from None
    for name, v in (("X", X), ("W", W), ("R", R)):
        if len(shape_of(v)) != 3:
            raise OpError(f"input {name} must be 3-D, got shape {list(shape_of(v))}")
    hidden = hidden_size or shape_of(R)[-1]
    x = g.value(X)
    seq_state = [None if s is None else g.value(s) for s in states]  # initial_h (, initial_c)
    if layout:
        x = dnn.TransposeOp(x, (1, 0, 2)).output
        seq_state = [None if s is None else dnn.TransposeOp(s, (1, 0, 2)).output for s in seq_state]
    names = ["initial_h", "initial_c"]
    op = cls(
        x,
        g.value(W),
        g.value(R),
        hidden_size=hidden,
        direction=dir_,
        **dict(zip(names, seq_state, strict=False)),
        **kwargs,
    )
    results = list(op.results)
    if layout:
        perms = [(2, 0, 1, 3)] + [(1, 0, 2)] * (len(results) - 1)
        results = [
            dnn.TransposeOp(r, perm).output if g.used(i) else r
            for i, (r, perm) in enumerate(zip(results, perms, strict=True))
        ]
    return results


def _rnn_common(
    g: Importer,
    B: Val | None,
    sequence_lens: Val | None,
    activation_alpha: list[float] | None,
    activation_beta: list[float] | None,
    activations: list[str] | None,
    clip: float | None,
) -> dict[str, Any]:
    return {
        "b": None if B is None else g.value(B),
        "sequence_lens": None if sequence_lens is None else g.value(sequence_lens),
        "activations": activations,
        "activation_alpha": activation_alpha,
        "activation_beta": activation_beta,
        "clip": clip,
    }


@translator("LSTM")
def _lstm(
    g: Importer,
    X: Val,
    W: Val,
    R: Val,
    B: Val | None = None,
    sequence_lens: Val | None = None,
    initial_h: Val | None = None,
    initial_c: Val | None = None,
    P: Val | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    input_forget: int = 0,
    layout: int = 0,
) -> list[SSAValue]:
    common = _rnn_common(g, B, sequence_lens, activation_alpha, activation_beta, activations, clip)
    return _recurrent(
        g,
        dnn.LstmOp,
        X,
        W,
        R,
        [initial_h, initial_c],
        layout,
        hidden_size,
        direction,
        p=None if P is None else g.value(P),
        input_forget=bool(input_forget),
        **common,
    )


@translator("GRU")
def _gru(
    g: Importer,
    X: Val,
    W: Val,
    R: Val,
    B: Val | None = None,
    sequence_lens: Val | None = None,
    initial_h: Val | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    layout: int = 0,
    linear_before_reset: int = 0,
) -> list[SSAValue]:
    common = _rnn_common(g, B, sequence_lens, activation_alpha, activation_beta, activations, clip)
    return _recurrent(
        g,
        dnn.GruOp,
        X,
        W,
        R,
        [initial_h],
        layout,
        hidden_size,
        direction,
        linear_before_reset=bool(linear_before_reset),
        **common,
    )


@translator("RNN")
def _rnn(
    g: Importer,
    X: Val,
    W: Val,
    R: Val,
    B: Val | None = None,
    sequence_lens: Val | None = None,
    initial_h: Val | None = None,
    *,
    activation_alpha: list[float] | None = None,
    activation_beta: list[float] | None = None,
    activations: list[str] | None = None,
    clip: float | None = None,
    direction: str = "forward",
    hidden_size: int | None = None,
    layout: int = 0,
) -> list[SSAValue]:
    common = _rnn_common(g, B, sequence_lens, activation_alpha, activation_beta, activations, clip)
    return _recurrent(g, dnn.RnnOp, X, W, R, [initial_h], layout, hidden_size, direction, **common)
