"""`dnn-unroll-rnn`: unroll LSTM / GRU / RNN layers over their (static) time steps into dnn
ops that have an int8 form and a lowering: dense (MVM), add / mul (ELEW), sigmoid / tanh /
relu (ACT), clip, reshape and concat (docs/quantization.md, "Recurrent layers").

Every direction (forward, reverse, both) and every batch is unrolled; the cell of one
direction is a chain of steps over [rows, *] tensors, where rows is the whole batch or, when
`max_batch` is given and the batch exceeds it (the compiler passes 1: the accelerator's MVM
lowering takes one row), a single batch row: each row is then an independent chain. A
reverse direction is the same cell walking t from seq - 1 down to 0. For `dnn.lstm` with
X [seq, batch, I], hidden H, gates i, o, f, c, one chain (direction d, rows b):

    X2     = reshape(X, [seq * batch, I])
    x_t    = dnn.host "Split"(X2)[t, b]                   # [rows, I] (no dnn slice op)
    P_g[t] = dense(x_t, W_g, Wb_g + Rb_g, trans_b)         # one MVM per gate and step
    per step t (h, c = the initial states or zero: the first step drops the R and f terms):
      z_g = add(P_g[t], dense(h, R_g, trans_b))            # R_g: the gate's rows of R[d]
      (peepholes: z_i, z_f += mul(P_i, c), mul(P_f, c);  z_o += mul(P_o, c_t))
      i, o, f = sigmoid(z_i), sigmoid(z_o), sigmoid(z_f);  g = tanh(z_c)   (clip before each)
      c = add(mul(f, c), mul(i, g));  h = mul(o, tanh(c))
    Y   = reshape(concat(h_t of (t, d, b) in that order, axis 1), [seq, dirs, batch, H])
    Y_h = reshape(h_last of (d, b), [dirs, batch, H]);  Y_c likewise

With one row per chain, Y is a channel concat (the accelerator's in-place layout) of
per-step concats [1, dirs * batch * H]: a stacked layer reads its x_t there (or a concat of
the blocks of its row). With several rows per chain (the reference only) Y is assembled by a
host Concat along rows. `gemm` projects all steps in one GEMM per gate, split afterwards.

GRU (`unroll_gru`) and RNN (`unroll_simple`) follow the same scheme; GRU's 1 - z is the
sigmoid of the negated z pre-activation (negated weight rows: the contract has no
subtraction), and so is LSTM's input_forget f = 1 - i. Activations: tanh, sigmoid, relu
(LSTM f and GRU f must be sigmoid where 1 - f is needed).

A constant sequence_lens L_b (1 <= L_b <= seq) is honoured per chain: batch rows of different
lengths are unrolled row by row (whatever `max_batch`), and the chains of row b run only its
steps (forward 0..L_b - 1, reverse L_b - 1 down to 0; no input projections past L_b), so Y_h
and Y_c are the states after the chain's last step. Y's blocks past L_b are zeros (`_pad`: an
MVM of the chain's first h by zero weights, as GRU's h_0; erased when Y only fed a stacked
layer). An empty row (L_b = 0) keeps the layer fused: onnxruntime then gives Y_h = 0 where
the fused reference keeps initial_h.

The float result equals the fused op up to float32 rounding (the order of the sums differs).
Per-gate weights are new `dnn.weight "<W>.<gate>"` arrays in the store (`<R>.<gate>`,
`<W>.<gate>.b` for the summed bias; `<W>.bw.<gate>` for the reverse direction of a
bidirectional layer), or `dnn.constant`s when the originals are constants. Layers outside the
supported subset stay fused (float, host) and are listed by `unroll`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, f32
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import PassFailedException

from fvir.errors import UserError
from fvir.ir import dnn
from fvir.ir.functions import main_function

WeightStoreLike = MutableMapping[str, np.ndarray]

LSTM_GATES = ("i", "o", "f", "c")
"""ONNX gate order of W, R and B."""


_DEFAULT_ACTS = {"dnn.lstm": ["sigmoid", "tanh", "tanh"], "dnn.gru": ["sigmoid", "tanh"],
                 "dnn.rnn": ["tanh"]}
_RNN_ACTS: dict[str, Callable[[SSAValue], Operation]] = {
    "tanh": dnn.TanhOp, "sigmoid": dnn.SigmoidOp, "relu": dnn.ReluOp,
}
"""Activations that have an int8 form (ACT)."""


def _constant(value: SSAValue | None) -> bool:
    return value is None or isinstance(value.owner, dnn.WeightOp | dnn.ConstantOp)


def _activations(op: dnn._Recurrent) -> list[list[str]]:
    """The activation names (lower case) of each direction."""
    per_dir = len(_DEFAULT_ACTS[op.name])
    if op.activations is None:
        names = _DEFAULT_ACTS[op.name] * op.num_directions
    else:
        names = [a.data.lower() for a in op.activations.data]
    return [names[d * per_dir : (d + 1) * per_dir] for d in range(op.num_directions)]


def unsupported_reason(op: dnn._Recurrent, weights: WeightStoreLike | None = None) -> str | None:
    """Why `op` cannot be unrolled (None: it can). `weights` lets a stored sequence_lens be
    checked (a constant one is)."""
    states = (op.initial_h, op.initial_c) if isinstance(op, dnn.LstmOp) else (op.initial_h,)
    peep = op.p if isinstance(op, dnn.LstmOp) else None
    if not all(_constant(v) for v in (op.w, op.r, op.b, peep, *states)):
        return "weights or initial states computed at run time"
    if op.sequence_lens is not None:
        if not _constant(op.sequence_lens):
            return "sequence_lens computed at run time"
        lens = _Builder(op, weights).array(op.sequence_lens)
        if np.any(lens == 0):
            return "sequence_lens with an empty batch row"
        if np.any(lens != np.round(lens)) or np.any(lens < 0) or np.any(
            lens > dnn.shape_of(op.x)[0]
        ):
            return "sequence_lens outside 1..seq"
    for names in _activations(op):
        if any(n not in _RNN_ACTS for n in names):
            return f"activations {names}"
        needs_sigmoid = isinstance(op, dnn.GruOp) or (
            isinstance(op, dnn.LstmOp) and op.input_forget is not None
        )
        if needs_sigmoid and names[0] != "sigmoid":  # 1 - f(z) = f(-z) holds for sigmoid
            return f"activations {names}"
    return None


class _Builder:
    """Inserts ops before the recurrent op and reads / creates its weights."""

    def __init__(self, anchor: Operation, weights: WeightStoreLike | None):
        self.anchor, self.weights = anchor, weights

    def add(self, op: Operation, name: str | None = None) -> SSAValue:
        Rewriter.insert_op(op, InsertPoint.before(self.anchor))
        if name is not None:
            op.results[0].name_hint = name
        return op.results[0]

    def array(self, value: SSAValue) -> np.ndarray:
        owner = value.owner
        if isinstance(owner, dnn.ConstantOp):
            shape = dnn.shape_of(value)
            values = np.asarray(owner.value.get_values(), dtype=np.float32)
            return np.broadcast_to(values, shape) if values.size == 1 else values.reshape(shape)
        assert isinstance(owner, dnn.WeightOp)
        if self.weights is None or owner.sym.data not in self.weights:
            raise UserError(
                f"dnn-unroll-rnn needs the weight store for '{owner.sym.data}' "
                "(fv-opt: -p 'dnn-unroll-rnn{weights=model.npz}')"
            )
        return np.asarray(self.weights[owner.sym.data], dtype=np.float32)

    def const(self, like: SSAValue, name: str, a: np.ndarray) -> SSAValue:
        """A weight derived from `like`: in the store when `like` is a dnn.weight."""
        a = np.ascontiguousarray(a, dtype=np.float32)
        ty = TensorType(f32, a.shape)
        if isinstance(like.owner, dnn.WeightOp):
            assert self.weights is not None
            key, k = name, 0
            while key in self.weights and not np.array_equal(self.weights[key], a):
                k += 1
                key = f"{name}{k}"
            self.weights[key] = a
            return self.add(dnn.WeightOp(key, ty))
        attr = DenseIntOrFPElementsAttr.from_list(ty, a.reshape(-1).tolist())
        return self.add(dnn.ConstantOp(attr))

    def dense(self, x: SSAValue, w: SSAValue, bias: SSAValue | None, name: str) -> SSAValue:
        return self.add(dnn.DenseOp(x, w, bias, trans_b=True), name)

    def binary(self, cls: type[dnn.AddOp | dnn.MulOp], a: SSAValue, b: SSAValue,
               name: str) -> SSAValue:
        return self.add(cls(a, b), name)


@dataclass(frozen=True)
class _Layout:
    """How a layer is unrolled: `rows` batch rows per chain, `groups` chains per direction."""

    seq: int
    batch: int
    inp: int
    hid: int
    dirs: int
    rows: int
    reverse: bool  # direction reverse (a single direction walking backwards)
    lens: tuple[int, ...]  # steps run per chain (sequence_lens of its rows; seq without)

    @property
    def groups(self) -> int:
        return self.batch // self.rows

    @staticmethod
    def of(op: dnn._Recurrent, max_batch: int | None, b: _Builder) -> _Layout:
        """Rows differing in sequence_lens are unrolled row by row (chains of their own
        length)."""
        seq, batch, inp = dnn.shape_of(op.x)
        lens = [seq] * batch
        if op.sequence_lens is not None:
            lens = [int(n) for n in np.round(b.array(op.sequence_lens)).reshape(-1)]
        rows = batch if max_batch is None or batch <= max_batch else 1
        if len(set(lens)) > 1:
            rows = 1
        return _Layout(seq, batch, inp, op.hidden, op.num_directions, rows,
                       op.direction.data == dnn.RnnDirection.REVERSE,
                       tuple(lens[g * rows] for g in range(batch // rows)))

    def backwards(self, d: int) -> bool:
        return self.reverse or d == 1

    def times(self, d: int, g: int) -> range:
        """The steps chain (d, g) runs, in order: its rows' first sequence_lens steps."""
        n = self.lens[g]
        return range(n - 1, -1, -1) if self.backwards(d) else range(n)

    def tag(self, d: int, g: int) -> str:
        """Name suffix of chain (d, g): nothing for a single forward chain."""
        dir_tag = "" if self.dirs == 1 else (".fw", ".bw")[d]
        return dir_tag + ("" if self.groups == 1 else f".b{g}")

    def wtag(self, d: int) -> str:
        return "" if self.dirs == 1 else (".fw", ".bw")[d]


@dataclass
class _Steps:
    """What a stacked layer needs of an unrolled layer's Y: per step, the [rows, H] blocks in
    Y's order (direction, then batch row) and, with one row per chain, the whole step
    [1, dirs * batch * H] (a concat of the blocks)."""

    blocks: list[list[SSAValue]]
    steps: list[SSAValue] | None
    rows: int
    hid: int
    pads: list[Operation]  # the zeros of steps past sequence_lens (erased when unused)


HiddenStates = dict[SSAValue, _Steps]


def _split(b: _Builder, value: SSAValue, lay: _Layout, name: str) -> list[list[SSAValue]]:
    """[seq * batch, N] -> [group][t] values [rows, N] (a host Split: dnn has no slice op)."""
    n = dnn.shape_of(value)[1]
    pieces = lay.seq * lay.groups
    if pieces == 1:
        flat = [b.add(dnn.ReshapeOp(value, (lay.rows, n)))]
    else:
        ty = TensorType(value.type.element_type, (lay.rows, n))  # type: ignore[attr-defined]
        split = dnn.HostOp("Split", [value], [ty] * pieces,
                           {"axis": 0, "split": [lay.rows] * pieces})
        b.add(split)
        flat = list(split.results)
    out = [[flat[t * lay.groups + g] for t in range(lay.seq)] for g in range(lay.groups)]
    for g in range(lay.groups):
        for t, s in enumerate(out[g]):
            s.name_hint = f"{name}{'' if lay.groups == 1 else f'.b{g}'}.t{t}"
    return out


def _previous_steps(x: SSAValue, hidden_states: HiddenStates, seq: int) -> _Steps | None:
    """The steps of an unrolled layer whose Y [seq, dirs, batch, H] (maybe reshaped, keeping
    the leading seq: the same order per step) is `x`."""
    while x not in hidden_states and isinstance(x.owner, dnn.ReshapeOp):
        x = x.owner.input
        if dnn.shape_of(x)[0] != seq:
            return None
    return hidden_states.get(x)


def _inputs(op: dnn._Recurrent, b: _Builder, lay: _Layout, gemm: bool,
            hidden_states: HiddenStates) -> tuple[list[list[SSAValue]] | None, SSAValue]:
    """Per-chain-rows x_t ([group][t], None with `gemm`) and X as [seq * batch, I]."""
    base = op.y.name_hint or "rnn"
    prev = None if gemm else _previous_steps(op.x, hidden_states, lay.seq)
    if prev is not None:
        xs = _chained(b, prev, lay, base)
        if xs is not None:
            return xs, op.x
    x2 = b.add(dnn.ReshapeOp(op.x, (lay.seq * lay.batch, lay.inp)), f"{base}.x")
    return (None if gemm else _split(b, x2, lay, f"{base}.x")), x2


def _chained(b: _Builder, prev: _Steps, lay: _Layout, base: str) -> list[list[SSAValue]] | None:
    """x_t read from the previous layer's steps, when they line up with this layer's rows."""
    if lay.rows == prev.rows == lay.batch and all(len(bl) == 1 for bl in prev.blocks):
        if dnn.shape_of(prev.blocks[0][0]) == (lay.rows, lay.inp):
            return [[bl[0] for bl in prev.blocks]]
    if lay.rows != 1 or prev.rows != 1:
        return None
    if lay.batch == 1 and prev.steps is not None:
        return [list(prev.steps)]
    if lay.inp % prev.hid:
        return None
    k = lay.inp // prev.hid  # blocks per row of this layer
    xs: list[list[SSAValue]] = []
    for g in range(lay.groups):
        row = []
        for t, blocks in enumerate(prev.blocks):
            mine = blocks[g * k : (g + 1) * k]
            row.append(mine[0] if k == 1 else
                       b.add(dnn.ConcatOp(mine, 1), f"{base}.x.b{g}.t{t}"))
        xs.append(row)
    return xs


def _project(b: _Builder, xs: list[list[SSAValue]] | None, x2: SSAValue, w: SSAValue,
             bias: SSAValue, lay: _Layout, name: str) -> list[list[SSAValue]]:
    """x_t W^T + b for every step: one MVM per step the chain runs (None past its
    sequence_lens), or one GEMM split into steps."""
    if xs is None:
        return _split(b, b.dense(x2, w, bias, name), lay, name)
    return [[b.dense(x_t, w, bias, f"{name}{'' if lay.groups == 1 else f'.b{g}'}.t{t}")
             if t < lay.lens[g] else None  # type: ignore[misc]
             for t, x_t in enumerate(row)] for g, row in enumerate(xs)]


def _state(b: _Builder, value: SSAValue | None, lay: _Layout, d: int, g: int, src: SSAValue,
           name: str) -> SSAValue | None:
    """The initial state [rows, H] of chain (d, g), a slice of the constant [dirs, batch, H]."""
    if value is None:
        return None
    part = b.array(value)[d, g * lay.rows : (g + 1) * lay.rows]
    return _const_rows(b, value, f"{_sym(value, 'state')}{lay.tag(d, g)}", part, src, name)


def _const_rows(b: _Builder, like: SSAValue, key: str, a: np.ndarray, src: SSAValue,
                name: str) -> SSAValue:
    """A constant [rows, N] as a step's tensor. One row: an MVM of `src` (any [1, K] tensor)
    by zero weights plus the constant as bias, so the accelerator makes it (a zero channel's
    bias is exact at the output scale: docs/quantization.md); the frame plan has no int8
    constant activations. Several rows (the reference only): a reshape of the constant."""
    rows, n = a.shape
    if rows == 1:
        k = dnn.shape_of(src)[1]
        zero = b.const(like, f"{key}.zero", np.zeros((n, k), np.float32))
        return b.dense(src, zero, b.const(like, key, a[0]), name)
    return b.add(dnn.ReshapeOp(b.const(like, key, a[None]), (rows, n)), name)


def _act(b: _Builder, kind: str, x: SSAValue, clip: float | None, name: str) -> SSAValue:
    if clip is not None:
        x = b.add(dnn.ClipOp(x, -clip, clip), f"{name}.clip")
    return b.add(_RNN_ACTS[kind](x), name)


def _interleave(chains: list[Iterator[None]]) -> None:
    """Emit the chains' steps round robin (independent chains' step t next to each other)."""
    while chains:
        chains = [c for c in chains if next(c, StopIteration) is not StopIteration]


def _sym(value: SSAValue, default: str) -> str:
    return value.owner.sym.data if isinstance(value.owner, dnn.WeightOp) else default


def _biases(b: _Builder, op: dnn._Recurrent, gates: int) -> np.ndarray:
    if op.b is None:
        return np.zeros((op.num_directions, 2 * gates * op.hidden), np.float32)
    return b.array(op.b)


def _clip(op: dnn._Recurrent) -> float | None:
    return None if op.clip is None else op.clip.value.data


def unroll_lstm(op: dnn.LstmOp, weights: WeightStoreLike | None, *, gemm: bool = False,
                hidden_states: HiddenStates | None = None, max_batch: int | None = None) -> None:
    """Replace one supported LSTM by its unrolled form (module docstring). `gemm`: the input
    projection of all steps as one GEMM per gate, split afterwards; default: one MVM per gate
    and step on x_t. `hidden_states` maps the Y of layers already unrolled to their steps (and
    gets this layer's): a stacked layer reads its x_t there instead of splitting Y again."""
    hidden_states = {} if hidden_states is None else hidden_states
    b = _Builder(op, weights)
    lay = _Layout.of(op, max_batch, b)
    hid, base, clip = lay.hid, op.y.name_hint or "lstm", _clip(op)
    w_all, r_all, bias_all = b.array(op.w), b.array(op.r), _biases(b, op, 4)
    peep = None if op.p is None else b.array(op.p)
    w_name, r_name = _sym(op.w, "w"), _sym(op.r, "r")
    acts = _activations(op)
    xs, x2 = _inputs(op, b, lay, gemm, hidden_states)
    hs = [[[None] * lay.seq for _ in range(lay.groups)] for _ in range(lay.dirs)]
    finals: dict[tuple[int, int], tuple[SSAValue, SSAValue]] = {}
    chains = []
    for d in range(lay.dirs):
        w, r, bias = w_all[d], r_all[d], bias_all[d]
        rows = [slice(k * hid, (k + 1) * hid) for k in range(4)]
        wb = [bias[rows[k]] + bias[4 * hid :][rows[k]] for k in range(4)]
        wg, rg = [w[s] for s in rows], [r[s] for s in rows]
        pd = None if peep is None else [peep[d, k * hid : (k + 1) * hid] for k in range(3)]
        if op.input_forget is not None:  # f = 1 - i = sigmoid(-z_i): negated i rows
            wg[2], rg[2], wb[2] = -wg[0], -rg[0], -wb[0]
            if pd is not None:
                pd[2] = -pd[0]
        proj, rw = [], []
        wt = lay.wtag(d)
        for k, gate in enumerate(LSTM_GATES):
            wv = b.const(op.w, f"{w_name}{wt}.{gate}", wg[k])
            bv = b.const(op.w, f"{w_name}{wt}.{gate}.b", wb[k])
            rw.append(b.const(op.r, f"{r_name}{wt}.{gate}", rg[k]))
            proj.append(_project(b, xs, x2, wv, bv, lay, f"{base}{wt}.p{gate}"))
        for g in range(lay.groups):
            name = f"{base}{lay.tag(d, g)}"
            src = proj[0][g][lay.times(d, g)[0]]
            pv = None
            if pd is not None:  # P_i, P_o, P_f as [rows, H] tensors for the ELEW mul
                assert op.p is not None
                pv = [_const_rows(b, op.p, f"{_sym(op.p, 'p')}{lay.tag(d, g)}.{gate}",
                                  np.tile(pd[k], (lay.rows, 1)), src, f"{name}.p{gate}")
                      for k, gate in enumerate(("i", "o", "f"))]
            h = _state(b, op.initial_h, lay, d, g, src, f"{name}.h0")
            c = _state(b, op.initial_c, lay, d, g, src, f"{name}.c0")
            chains.append(_lstm_chain(b, lay, d, g, proj, rw, pv, acts[d], clip, h, c, name,
                                      hs, finals))
    _interleave(chains)
    _finish(op, b, lay, hs, [[finals[d, g][k] for d in range(lay.dirs)
                              for g in range(lay.groups)] for k in (0, 1)], hidden_states)


def _lstm_chain(b: _Builder, lay: _Layout, d: int, g: int, proj: list[list[list[SSAValue]]],
                rw: list[SSAValue], pv: list[SSAValue] | None, acts: list[str],
                clip: float | None, h: SSAValue | None, c: SSAValue | None, base: str,
                hs: list, finals: dict) -> Iterator[None]:
    f_act, g_act, h_act = acts
    for t in lay.times(d, g):
        z = []
        for k, gate in enumerate(LSTM_GATES):
            zg = proj[k][g][t]
            if h is not None:
                rec = b.dense(h, rw[k], None, f"{base}.r{gate}.t{t}")
                zg = b.binary(dnn.AddOp, zg, rec, f"{base}.z{gate}.t{t}")
            z.append(zg)
        if pv is not None and c is not None:  # peepholes on c_{t-1}: i and f
            for k, pk in ((0, 0), (2, 2)):
                pc = b.binary(dnn.MulOp, pv[pk], c, f"{base}.p{LSTM_GATES[k]}c.t{t}")
                z[k] = b.binary(dnn.AddOp, z[k], pc, f"{base}.z{LSTM_GATES[k]}p.t{t}")
        i_t = _act(b, f_act, z[0], clip, f"{base}.i.t{t}")
        o_t = None
        if pv is None:
            o_t = _act(b, f_act, z[1], clip, f"{base}.o.t{t}")
        f_t = _act(b, f_act, z[2], clip, f"{base}.f.t{t}")
        g_t = _act(b, g_act, z[3], clip, f"{base}.g.t{t}")
        ig = b.binary(dnn.MulOp, i_t, g_t, f"{base}.ig.t{t}")
        if c is not None:
            fc = b.binary(dnn.MulOp, f_t, c, f"{base}.fc.t{t}")
            c = b.binary(dnn.AddOp, fc, ig, f"{base}.c.t{t}")
        else:
            c = ig
            c.name_hint = f"{base}.c.t{t}"
        if o_t is None:  # peephole on c_t: o
            assert pv is not None
            pc = b.binary(dnn.MulOp, pv[1], c, f"{base}.poc.t{t}")
            zo = b.binary(dnn.AddOp, z[1], pc, f"{base}.zop.t{t}")
            o_t = _act(b, f_act, zo, clip, f"{base}.o.t{t}")
        tc = _act(b, h_act, c, clip, f"{base}.tc.t{t}")
        h = b.binary(dnn.MulOp, o_t, tc, f"{base}.h.t{t}")
        hs[d][g][t] = h
        yield
    assert h is not None and c is not None
    finals[d, g] = (h, c)


def _finish(op: dnn._Recurrent, b: _Builder, lay: _Layout, hs: list[list[list[SSAValue]]],
            finals: list[list[SSAValue]], hidden_states: HiddenStates) -> None:
    """Y from the per-step h (`hs[d][g][t]`), Y_h (and Y_c) from the final states (each a
    list in (d, g) order); replaces `op`."""
    seq, batch, hid, dirs = lay.seq, lay.batch, lay.hid, lay.dirs
    base = op.y.name_hint or "rnn"
    pads = _pad(op, b, lay, hs, base) if op.y.uses else []
    blocks = [[hs[d][g][t] for d in range(dirs) for g in range(lay.groups)] for t in range(seq)]
    ety = finals[0][0].type.element_type  # type: ignore[attr-defined]
    news: list[SSAValue | None] = []
    if lay.rows == 1:  # [1, seq * dirs * batch * H] has Y's order: channel concats, in place
        y = None
        if op.y.uses:
            steps = [bl[0] if len(bl) == 1 else b.add(dnn.ConcatOp(bl, 1), f"{base}.step.t{t}")
                     for t, bl in enumerate(blocks)]
            flat = steps[0] if seq == 1 else b.add(dnn.ConcatOp(steps, 1))
            y = b.add(dnn.ReshapeOp(flat, (seq, dirs, batch, hid)))
            hidden_states[y] = _Steps(blocks, steps, 1, hid, pads)
            if len(blocks[0]) == 1 and seq > 1 and op.y_h.uses:
                # h_last lives in the concat (its last step: sequence_lens - 1, or 0 when
                # reversed): the host reads it whole
                t_last = lay.times(0, 0)[-1]
                sizes = [n for n in (t_last * hid, hid, (seq - 1 - t_last) * hid) if n]
                last = 1 if t_last else 0
                split = dnn.HostOp("Split", [flat], [TensorType(ety, (1, n)) for n in sizes],
                                   {"axis": 1, "split": sizes})
                b.add(split)
                finals = [[split.results[last]], *finals[1:]]
        news.append(y)
        for states in finals:
            flat_s = states[0] if len(states) == 1 else b.add(dnn.ConcatOp(states, 1))
            news.append(b.add(dnn.ReshapeOp(flat_s, (dirs, batch, hid))))
    else:  # a concat along rows is no accelerator layer: the host assembles Y
        y = None
        if op.y.uses:
            flat_bl = [v for bl in blocks for v in bl]
            ty = TensorType(ety, (seq * dirs * batch, hid))
            flat = b.add(dnn.HostOp("Concat", flat_bl, [ty], {"axis": 0}))
            y = b.add(dnn.ReshapeOp(flat, (seq, dirs, batch, hid)))
            hidden_states[y] = _Steps(blocks, None, lay.rows, hid, pads)
        news.append(y)
        for states in finals:
            if len(states) == 1:
                flat_s = states[0]
            else:
                ty = TensorType(ety, (dirs * batch, hid))
                flat_s = b.add(dnn.HostOp("Concat", states, [ty], {"axis": 0}))
            news.append(b.add(dnn.ReshapeOp(flat_s, (dirs, batch, hid))))
    for old, new in zip(op.results, news, strict=True):
        if new is None:
            assert not old.uses
            continue
        new.name_hint = old.name_hint
        old.replace_all_uses_with(new)
    owners = {v.owner for v in op.operands}
    Rewriter.erase_op(op)
    for owner in owners:
        if isinstance(owner, dnn.WeightOp | dnn.ConstantOp) and not owner.results[0].uses:
            Rewriter.erase_op(owner)


def _pad(op: dnn._Recurrent, b: _Builder, lay: _Layout, hs: list[list[list[SSAValue]]],
         base: str) -> list[Operation]:
    """Fill `hs[d][g][t]` past chain (d, g)'s sequence_lens with zeros (ONNX's Y there): one
    row, an MVM of the chain's first h by zero weights (as GRU's h_0), one per step since each
    is a block of Y's in-place concat; several rows (the reference only), a reshaped
    constant. Returns the ops made."""
    pads: list[Operation] = []
    for d in range(lay.dirs):
        for g in range(lay.groups):
            name = f"{base}{lay.tag(d, g)}"
            for t in range(lay.lens[g], lay.seq):
                src = hs[d][g][lay.times(d, g)[0]]
                if lay.rows == 1:
                    zero = b.const(op.r, f"{_sym(op.r, 'r')}.zero",
                                   np.zeros((lay.hid, lay.hid), np.float32))
                    hs[d][g][t] = b.dense(src, zero, None, f"{name}.pad.t{t}")
                else:
                    zero = b.const(op.r, f"{_sym(op.r, 'r')}.pad",
                                   np.zeros((1, lay.rows, lay.hid), np.float32))
                    hs[d][g][t] = b.add(dnn.ReshapeOp(zero, (lay.rows, lay.hid)),
                                        f"{name}.pad.t{t}")
                pads += [hs[d][g][t].owner, zero.owner]  # type: ignore[list-item]
    return pads


def unroll_gru(op: dnn.GruOp, weights: WeightStoreLike | None, *, gemm: bool = False,
               hidden_states: HiddenStates | None = None, max_batch: int | None = None) -> None:
    """GRU (gates z, r, h): 1 - z is sigmoid of the negated pre-activation (negated z rows of
    W, R and the bias), as the contract has no subtraction; h_t = (1 - z) n + z h_{t-1}. No
    initial_h: h_0 = 0 comes from an MVM with zero weights (linear_before_reset needs
    r * (h R_h^T + Rb_h) to be a tensor at the first step too)."""
    hidden_states = {} if hidden_states is None else hidden_states
    b = _Builder(op, weights)
    lay = _Layout.of(op, max_batch, b)
    hid, base, clip = lay.hid, op.y.name_hint or "gru", _clip(op)
    w_all, r_all, bias_all = b.array(op.w), b.array(op.r), _biases(b, op, 3)
    wn, rn = _sym(op.w, "w"), _sym(op.r, "r")
    lbr = op.linear_before_reset is not None
    acts = _activations(op)
    rows = [slice(k * hid, (k + 1) * hid) for k in range(3)]
    xs, x2 = _inputs(op, b, lay, gemm, hidden_states)
    x_rows = xs
    hs = [[[None] * lay.seq for _ in range(lay.groups)] for _ in range(lay.dirs)]
    finals: dict[tuple[int, int], SSAValue] = {}
    chains = []
    for d in range(lay.dirs):
        w, r, bias = w_all[d], r_all[d], bias_all[d]
        wb, rb = bias[: 3 * hid], bias[3 * hid :]
        gates = {  # name: (W rows, bias, R rows)
            "z": (w[rows[0]], wb[rows[0]] + rb[rows[0]], r[rows[0]]),
            "zn": (-w[rows[0]], -(wb[rows[0]] + rb[rows[0]]), -r[rows[0]]),
            "r": (w[rows[1]], wb[rows[1]] + rb[rows[1]], r[rows[1]]),
            "h": (w[rows[2]], wb[rows[2]] + (0 if lbr else rb[rows[2]]), r[rows[2]]),
        }
        wt = lay.wtag(d)
        proj, rw = {}, {}
        for gname, (wg, bg, rg) in gates.items():
            wv = b.const(op.w, f"{wn}{wt}.{gname}", wg)
            bv = b.const(op.w, f"{wn}{wt}.{gname}.b", bg)
            rw[gname] = b.const(op.r, f"{rn}{wt}.{gname}", rg)
            proj[gname] = _project(b, xs, x2, wv, bv, lay, f"{base}{wt}.p{gname}")
        rbh = b.const(op.r, f"{rn}{wt}.h.b", rb[rows[2]]) if lbr else None
        for g in range(lay.groups):
            name = f"{base}{lay.tag(d, g)}"
            h = _state(b, op.initial_h, lay, d, g, proj["z"][g][lay.times(d, g)[0]],
                       f"{name}.h0")
            if h is None:
                if x_rows is None:  # gemm: x_t only for h_0's zero MVM
                    x_rows = _split(b, x2, lay, f"{base}.x")
                first = x_rows[g][0]
                zero = b.const(op.w, f"{wn}.zero",
                               np.zeros((hid, dnn.shape_of(first)[1]), np.float32))
                h = b.dense(first, zero, None, f"{name}.h0")
            chains.append(_gru_chain(b, lay, d, g, proj, rw, rbh, lbr, acts[d], clip, h, name,
                                     hs, finals))
    _interleave(chains)
    _finish(op, b, lay, hs, [[finals[d, g] for d in range(lay.dirs)
                              for g in range(lay.groups)]], hidden_states)


def _gru_chain(b: _Builder, lay: _Layout, d: int, g: int, proj: dict, rw: dict,
               rbh: SSAValue | None, lbr: bool, acts: list[str], clip: float | None,
               h: SSAValue, base: str, hs: list, finals: dict) -> Iterator[None]:
    f_act, g_act = acts
    for t in lay.times(d, g):
        def gate(gn: str, t: int = t, h: SSAValue = h) -> SSAValue:
            rec = b.dense(h, rw[gn], None, f"{base}.r{gn}.t{t}")
            return b.binary(dnn.AddOp, proj[gn][g][t], rec, f"{base}.a{gn}.t{t}")

        z_t = _act(b, f_act, gate("z"), clip, f"{base}.z.t{t}")
        zn_t = _act(b, f_act, gate("zn"), clip, f"{base}.zn.t{t}")
        r_t = _act(b, f_act, gate("r"), clip, f"{base}.r.t{t}")
        if lbr:
            rec = b.dense(h, rw["h"], rbh, f"{base}.rh.t{t}")
            rec = b.binary(dnn.MulOp, r_t, rec, f"{base}.rrh.t{t}")
        else:
            rh = b.binary(dnn.MulOp, r_t, h, f"{base}.rh.t{t}")
            rec = b.dense(rh, rw["h"], None, f"{base}.rrh.t{t}")
        a_n = b.binary(dnn.AddOp, proj["h"][g][t], rec, f"{base}.ah.t{t}")
        n_t = _act(b, g_act, a_n, clip, f"{base}.n.t{t}")
        keep = b.binary(dnn.MulOp, z_t, h, f"{base}.zh.t{t}")
        new = b.binary(dnn.MulOp, zn_t, n_t, f"{base}.zn_n.t{t}")
        h = b.binary(dnn.AddOp, new, keep, f"{base}.h.t{t}")
        hs[d][g][t] = h
        yield
    finals[d, g] = h


def unroll_simple(op: dnn.RnnOp, weights: WeightStoreLike | None, *, gemm: bool = False,
                  hidden_states: HiddenStates | None = None,
                  max_batch: int | None = None) -> None:
    """RNN: h_t = f(x_t W^T + Wb + Rb + h_{t-1} R^T), f tanh, sigmoid or relu."""
    hidden_states = {} if hidden_states is None else hidden_states
    b = _Builder(op, weights)
    lay = _Layout.of(op, max_batch, b)
    hid, base, clip = lay.hid, op.y.name_hint or "rnn", _clip(op)
    w_all, r_all, bias_all = b.array(op.w), b.array(op.r), _biases(b, op, 1)
    acts = _activations(op)
    xs, x2 = _inputs(op, b, lay, gemm, hidden_states)
    hs = [[[None] * lay.seq for _ in range(lay.groups)] for _ in range(lay.dirs)]
    finals: dict[tuple[int, int], SSAValue] = {}
    chains = []
    for d in range(lay.dirs):
        wt = lay.wtag(d)
        bias = bias_all[d]
        wv = b.const(op.w, f"{_sym(op.w, 'w')}{wt}.i", w_all[d])
        bv = b.const(op.w, f"{_sym(op.w, 'w')}{wt}.i.b", bias[:hid] + bias[hid:])
        rv = b.const(op.r, f"{_sym(op.r, 'r')}{wt}.i", r_all[d])
        proj = _project(b, xs, x2, wv, bv, lay, f"{base}{wt}.p")
        for g in range(lay.groups):
            name = f"{base}{lay.tag(d, g)}"
            h = _state(b, op.initial_h, lay, d, g, proj[g][lay.times(d, g)[0]], f"{name}.h0")
            chains.append(_simple_chain(b, lay, d, g, proj, rv, acts[d][0], clip, h, name,
                                        hs, finals))
    _interleave(chains)
    _finish(op, b, lay, hs, [[finals[d, g] for d in range(lay.dirs)
                              for g in range(lay.groups)]], hidden_states)


def _simple_chain(b: _Builder, lay: _Layout, d: int, g: int, proj: list[list[SSAValue]],
                  rv: SSAValue, act: str, clip: float | None, h: SSAValue | None, base: str,
                  hs: list, finals: dict) -> Iterator[None]:
    for t in lay.times(d, g):
        a = proj[g][t]
        if h is not None:
            rec = b.dense(h, rv, None, f"{base}.r.t{t}")
            a = b.binary(dnn.AddOp, a, rec, f"{base}.a.t{t}")
        h = _act(b, act, a, clip, f"{base}.h.t{t}")
        hs[d][g][t] = h
        yield
    assert h is not None
    finals[d, g] = h


def _dense_per_step(op: dnn.DenseOp, hidden_states: HiddenStates, max_batch: int) -> None:
    """A dense over all the steps of an unrolled layer's Y ([seq, F] rows, more than
    `max_batch`), e.g. a per-step classifier: one dense per step on the step's [1, F] (read
    where the layer computed it, as a stacked layer does), results concatenated along
    features, which is [seq, N]'s order. Row by row the same arithmetic."""
    seq, feat = dnn.shape_of(op.input)
    if seq <= max_batch or op.trans_a is not None:
        return
    prev = _previous_steps(op.input, hidden_states, seq)
    if prev is None or prev.steps is None or dnn.shape_of(prev.steps[0]) != (1, feat):
        return
    b = _Builder(op, None)
    base = op.output.name_hint or "dense"
    rows = [b.add(dnn.DenseOp(x_t, op.weight, op.bias, trans_b=op.trans_b is not None,
                              alpha=op.alpha.value.data, beta=op.beta.value.data, act=op.act),
                  f"{base}.t{t}") for t, x_t in enumerate(prev.steps)]
    flat = b.add(dnn.ConcatOp(rows, 1), f"{base}.steps")
    new = b.add(dnn.ReshapeOp(flat, dnn.shape_of(op.output)))
    new.name_hint = op.output.name_hint
    op.output.replace_all_uses_with(new)
    Rewriter.erase_op(op)


def unroll(
    module: builtin.ModuleOp,
    weights: WeightStoreLike | None = None,
    *,
    gemm: bool = False,
    max_batch: int | None = None,
) -> list[tuple[Operation, str]]:
    """Unroll every supported recurrent layer of @main (see `unsupported_reason`); returns the
    layers left fused, with the reason. `max_batch`: the most batch rows one chain (one dense)
    may carry; a larger batch is unrolled row by row (the compiler passes 1: the MVM lowering
    takes one row), and a dense over all the steps of an unrolled Y (a per-step classifier)
    becomes one dense per step (`_dense_per_step`)."""
    block = main_function(module).body.block
    left: list[tuple[Operation, str]] = []
    hidden_states: HiddenStates = {}
    fns = {dnn.LstmOp: unroll_lstm, dnn.GruOp: unroll_gru, dnn.RnnOp: unroll_simple}
    for op in list(block.ops):
        if isinstance(op, dnn.LstmOp | dnn.GruOp | dnn.RnnOp):
            why = unsupported_reason(op, weights)
            if why is not None:
                left.append((op, why))
                continue
            fns[type(op)](op, weights, gemm=gemm, hidden_states=hidden_states,  # type: ignore
                          max_batch=max_batch)
    if max_batch is not None:
        for op in list(block.ops):
            if isinstance(op, dnn.DenseOp):
                _dense_per_step(op, hidden_states, max_batch)
    for op in reversed(list(block.ops)):  # a stacked layer's Y that only fed the next layer
        if isinstance(op, dnn.ReshapeOp | dnn.ConcatOp) and not op.results[0].uses:
            Rewriter.erase_op(op)
    for steps in hidden_states.values():  # and its padding
        for op in steps.pads:
            if op.parent is not None and not op.results[0].uses:  # (a reshape: erased)
                Rewriter.erase_op(op)
    return left


@dataclass(frozen=True)
class DnnUnrollRnnPass(ModulePass):
    """Unrolls LSTM / GRU / RNN layers over their time steps into dense / add / mul / ACT ops.

    See the module docs. Option `weights` (.npz WeightStore; needed with dnn.weight operands)
    and `out-weights` (where to write the store with the per-gate arrays)."""

    name = "dnn-unroll-rnn"

    weights: str | None = None
    out_weights: str | None = None

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        from fvir.ir.weights import WeightStore

        store = WeightStore.load(self.weights) if self.weights is not None else None
        try:
            unroll(op, store)
        except UserError as exc:
            raise PassFailedException(str(exc)) from None
        if self.out_weights is not None:
            (store if store is not None else WeightStore()).save(self.out_weights)
