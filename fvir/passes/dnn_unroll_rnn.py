"""`dnn-unroll-rnn`: unroll forward LSTM / GRU / RNN layers over their (static) time steps
into dnn ops that have an int8 form and a lowering: dense (MVM), add / mul (ELEW),
sigmoid / tanh (ACT), reshape and concat (docs/quantization.md, "Recurrent layers").

For `dnn.lstm` (direction forward, default activations, no clip, no peepholes, no
input_forget, no sequence_lens) with X [seq, batch, I], hidden H, gates i, o, f, c:

    X2     = reshape(X, [seq * batch, I])
    P_g    = dense(X2, W_g, Wb_g + Rb_g, trans_b)     # the input projection of all steps, one
                                                       # GEMM per gate, up front
    P_g[t] = dnn.host "Split"(P_g)[t]                  # [batch, H] per step (no dnn slice op)
    per step t (h, c = initial_h / initial_c or zero: the first step drops the R and f terms):
      z_g = add(P_g[t], dense(h, R_g, trans_b))        # R_g: the gate's rows of R
      i, o, f = sigmoid(z_i), sigmoid(z_o), sigmoid(z_f);  g = tanh(z_c)
      c = add(mul(f, c), mul(i, g));  h = mul(o, tanh(c))
    Y   = concat(reshape(h_t, [1, 1, batch, H]) for t, axis 0)
    Y_h = reshape(h_last, [1, batch, H]);  Y_c = reshape(c_last, [1, batch, H])

GRU (`unroll_gru`) and RNN (`unroll_simple`) follow the same scheme; GRU's 1 - z is the
sigmoid of the negated z pre-activation (negated weight rows: the contract has no subtraction).
Y with batch > 1 is assembled by a host Concat (the compiler only unrolls batch 1, which the
MVM lowering takes); with batch 1, Y_h, when used, is split off Y's concat by the host.

The float result equals the fused op up to float32 rounding (the order of the sums differs).
Per-gate weights are new `dnn.weight "<W>.<gate>"` arrays in the store (`<R>.<gate>`,
`<W>.<gate>.b` for the summed bias), or `dnn.constant`s when the originals are constants.
Layers outside the supported subset stay fused (float, host) and are listed by `unroll`.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, TensorType, f32
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import PassFailedException

from fvir.dialects import dnn
from fvir.errors import UserError
from fvir.reference.executor import main_function

WeightStoreLike = MutableMapping[str, np.ndarray]

LSTM_GATES = ("i", "o", "f", "c")
"""ONNX gate order of W, R and B."""


_DEFAULT_ACTS = {"dnn.lstm": ["sigmoid", "tanh", "tanh"], "dnn.gru": ["sigmoid", "tanh"],
                 "dnn.rnn": ["tanh"]}
_RNN_ACTS = {"tanh": dnn.TanhOp, "sigmoid": dnn.SigmoidOp, "relu": dnn.ReluOp}
"""Activations of dnn.rnn that have an int8 form."""


def unsupported_reason(op: dnn._Recurrent, max_batch: int | None = None) -> str | None:
    """Why `op` cannot be unrolled (None: it can); `max_batch`: the largest batch to unroll
    (the compiler passes 1: the accelerator's MVM lowering takes one row)."""
    if max_batch is not None and dnn.shape_of(op.x)[1] > max_batch:
        return f"batch {dnn.shape_of(op.x)[1]} > {max_batch}"
    if op.direction.data != dnn.RnnDirection.FORWARD:
        return f"direction {op.direction.data.value}"
    if op.sequence_lens is not None:
        return "sequence_lens"
    if isinstance(op, dnn.LstmOp) and op.p is not None:
        return "peepholes"
    if isinstance(op, dnn.LstmOp) and op.input_forget is not None:
        return "input_forget"
    if op.clip is not None:
        return "clip"
    if op.activations is not None:
        names = [a.data.lower() for a in op.activations.data]
        ok = names == _DEFAULT_ACTS[op.name] or (
            isinstance(op, dnn.RnnOp) and names[0] in _RNN_ACTS
        )
        if not ok:
            return f"activations {names}"
    states = (op.initial_h, op.initial_c) if isinstance(op, dnn.LstmOp) else (op.initial_h,)
    for v in (op.w, op.r, op.b, *states):
        if v is not None and not isinstance(v.owner, dnn.WeightOp | dnn.ConstantOp):
            return "weights or initial states computed at run time"
    return None


class _Builder:
    """Inserts ops before the recurrent op and reads / creates its weights."""

    def __init__(self, anchor: Operation, weights: WeightStoreLike | None):
        self.anchor, self.weights = anchor, weights

    def add(self, op: Operation) -> SSAValue:
        Rewriter.insert_op(op, InsertPoint.before(self.anchor))
        return op.results[0]

    def array(self, value: SSAValue) -> np.ndarray:
        owner = value.owner
        if isinstance(owner, dnn.ConstantOp):
            shape = dnn.shape_of(value)
            return np.asarray(owner.value.get_values(), dtype=np.float32).reshape(shape)
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


def _named(value: SSAValue, name: str) -> SSAValue:
    value.name_hint = name
    return value


def _steps(b: _Builder, value: SSAValue, seq: int, batch: int, name: str) -> list[SSAValue]:
    """[seq * batch, N] -> seq values [batch, N] (a host Split: dnn has no slice op)."""
    n = dnn.shape_of(value)[1]
    if seq == 1:
        steps = [b.add(dnn.ReshapeOp(value, (batch, n)))]
    else:
        ty = TensorType(value.type.element_type, (batch, n))  # type: ignore[attr-defined]
        split = dnn.HostOp("Split", [value], [ty] * seq, {"axis": 0, "split": [batch] * seq})
        b.add(split)
        steps = list(split.results)
    for t, s in enumerate(steps):
        s.name_hint = f"{name}.t{t}"
    return steps


def _previous_steps(
    x: SSAValue, hidden_states: dict[SSAValue, list[SSAValue]], seq: int, batch: int
) -> list[SSAValue] | None:
    """The per-step h of an unrolled forward layer whose Y [seq, 1, batch, H] (maybe reshaped
    to [seq, batch, H], the same order) is `x`: a stacked layer reads them directly."""
    while isinstance(x.owner, dnn.ReshapeOp) and x not in hidden_states:
        src = x.owner.input
        if dnn.shape_of(src) != (seq, 1, batch, dnn.shape_of(x)[-1]):
            return None
        x = src
    return hidden_states.get(x)


def unroll_lstm(
    op: dnn.LstmOp,
    weights: WeightStoreLike | None,
    *,
    gemm: bool = False,
    hidden_states: dict[SSAValue, list[SSAValue]] | None = None,
) -> None:
    """Replace one supported forward LSTM by its unrolled form (module docstring). `gemm`:
    the input projection of all steps as one GEMM per gate, split afterwards; default: one
    MVM per gate and step on x_t (the accelerator's MVM lowering takes one row, batch 1).
    `hidden_states` maps the Y of layers already unrolled to their per-step h (and gets this
    layer's): a stacked layer reads its x_t there instead of splitting Y again."""
    hidden_states = {} if hidden_states is None else hidden_states
    b = _Builder(op, weights)
    seq, batch, _ = dnn.shape_of(op.x)
    hid = op.hidden
    base = op.y.name_hint or "lstm"
    w, r = b.array(op.w)[0], b.array(op.r)[0]
    bias = np.zeros(8 * hid, np.float32) if op.b is None else b.array(op.b)[0]
    w_name = op.w.owner.sym.data if isinstance(op.w.owner, dnn.WeightOp) else "w"
    r_name = op.r.owner.sym.data if isinstance(op.r.owner, dnn.WeightOp) else "r"

    xs, x2 = _inputs(op, b, gemm, hidden_states)
    proj = []
    rw = []
    for k, gate in enumerate(LSTM_GATES):
        rows = slice(k * hid, (k + 1) * hid)
        wg = b.const(op.w, f"{w_name}.{gate}", w[rows])
        bg = b.const(op.w, f"{w_name}.{gate}.b", bias[rows] + bias[4 * hid :][rows])
        rw.append(b.const(op.r, f"{r_name}.{gate}", r[rows]))
        proj.append(_project(b, xs, x2, wg, bg, seq, batch, f"{base}.p{gate}"))

    def state(value: SSAValue | None, name: str) -> SSAValue | None:
        if value is None:
            return None
        return _named(b.add(dnn.ReshapeOp(value, (batch, hid))), f"{base}.{name}0")

    h, c = state(op.initial_h, "h"), state(op.initial_c, "c")
    ys: list[SSAValue] = []
    for t in range(seq):
        z = []
        for k, gate in enumerate(LSTM_GATES):
            zg = proj[k][t]
            if h is not None:
                rec = b.add(dnn.DenseOp(h, rw[k], None, trans_b=True))
                rec.name_hint = f"{base}.r{gate}.t{t}"
                zg = _named(b.add(dnn.AddOp(zg, rec)), f"{base}.z{gate}.t{t}")
            z.append(zg)
        i_t = _named(b.add(dnn.SigmoidOp(z[0])), f"{base}.i.t{t}")
        o_t = _named(b.add(dnn.SigmoidOp(z[1])), f"{base}.o.t{t}")
        f_t = _named(b.add(dnn.SigmoidOp(z[2])), f"{base}.f.t{t}")
        g_t = _named(b.add(dnn.TanhOp(z[3])), f"{base}.g.t{t}")
        ig = _named(b.add(dnn.MulOp(i_t, g_t)), f"{base}.ig.t{t}")
        if c is not None:
            fc = _named(b.add(dnn.MulOp(f_t, c)), f"{base}.fc.t{t}")
            c = _named(b.add(dnn.AddOp(fc, ig)), f"{base}.c.t{t}")
        else:
            c = _named(ig, f"{base}.c.t{t}")
        tc = _named(b.add(dnn.TanhOp(c)), f"{base}.tc.t{t}")
        h = _named(b.add(dnn.MulOp(o_t, tc)), f"{base}.h.t{t}")
        ys.append(h)
    assert h is not None and c is not None
    _finish(op, b, ys, [h, c], hidden_states)


def _inputs(
    op: dnn._Recurrent, b: _Builder, gemm: bool, hidden_states: dict[SSAValue, list[SSAValue]]
) -> tuple[list[SSAValue] | None, SSAValue]:
    """Per-step x_t (None with `gemm`) and X as [seq * batch, I]."""
    seq, batch, inp = dnn.shape_of(op.x)
    base = op.y.name_hint or "rnn"
    chained = None if gemm else _previous_steps(op.x, hidden_states, seq, batch)
    if chained is not None:
        return chained, op.x
    x2 = _named(b.add(dnn.ReshapeOp(op.x, (seq * batch, inp))), f"{base}.x")
    return (None if gemm else _steps(b, x2, seq, batch, f"{base}.x")), x2


def _project(
    b: _Builder, xs: list[SSAValue] | None, x2: SSAValue, w: SSAValue, b_: SSAValue,
    seq: int, batch: int, name: str,
) -> list[SSAValue]:
    """x_t W^T + b for every step: one MVM per step, or one GEMM split into steps."""
    if xs is None:
        return _steps(b, _named(b.add(dnn.DenseOp(x2, w, b_, trans_b=True)), name), seq, batch,
                      name)
    return [_named(b.add(dnn.DenseOp(x_t, w, b_, trans_b=True)), f"{name}.t{t}")
            for t, x_t in enumerate(xs)]


def _finish(op: dnn._Recurrent, b: _Builder, ys: list[SSAValue], finals: list[SSAValue],
            hidden_states: dict[SSAValue, list[SSAValue]]) -> None:
    """Y from the per-step h, Y_h (and Y_c) from the final states; replaces `op`."""
    seq, batch, _ = dnn.shape_of(op.x)
    hid = op.hidden
    if batch == 1:  # [1, seq * H] has Y's order: a channel concat the accelerator does in place
        flat = ys[0] if seq == 1 else b.add(dnn.ConcatOp(ys, 1))
        y = b.add(dnn.ReshapeOp(flat, (seq, 1, batch, hid)))
        if seq > 1 and op.y_h.uses:  # h_last lives in the concat: the host reads it whole
            ty = flat.type.element_type  # type: ignore[attr-defined]
            split = dnn.HostOp("Split", [flat], [TensorType(ty, (1, (seq - 1) * hid)),
                                                 TensorType(ty, (1, hid))],
                               {"axis": 1, "split": [(seq - 1) * hid, hid]})
            finals = [b.add(split) and split.results[1], *finals[1:]]
    else:  # a concat along the sequence axis is no accelerator layer: the host assembles Y
        ty = TensorType(ys[0].type.element_type, (seq * batch, hid))  # type: ignore[attr-defined]
        flat = b.add(dnn.HostOp("Concat", ys, [ty], {"axis": 0}))
        y = b.add(dnn.ReshapeOp(flat, (seq, 1, batch, hid)))
    hidden_states[y] = ys
    news = [y, *(b.add(dnn.ReshapeOp(v, (1, batch, hid))) for v in finals)]
    for old, new in zip(op.results, news, strict=True):
        new.name_hint = old.name_hint
        old.replace_all_uses_with(new)
    owners = {v.owner for v in op.operands}
    Rewriter.erase_op(op)
    for owner in owners:
        if isinstance(owner, dnn.WeightOp | dnn.ConstantOp) and not owner.results[0].uses:
            Rewriter.erase_op(owner)


def _sym(value: SSAValue, default: str) -> str:
    return value.owner.sym.data if isinstance(value.owner, dnn.WeightOp) else default


def unroll_gru(op: dnn.GruOp, weights: WeightStoreLike | None, *, gemm: bool = False,
               hidden_states: dict[SSAValue, list[SSAValue]] | None = None) -> None:
    """GRU (gates z, r, h): 1 - z is sigmoid of the negated pre-activation (negated z rows of
    W, R and the bias), as the contract has no subtraction; h_t = (1 - z) n + z h_{t-1}. No
    initial_h: h_0 = 0 comes from an MVM with zero weights (linear_before_reset needs
    r * (h R_h^T + Rb_h) to be a tensor at the first step too)."""
    hidden_states = {} if hidden_states is None else hidden_states
    b = _Builder(op, weights)
    seq, batch, _ = dnn.shape_of(op.x)
    hid, base = op.hidden, op.y.name_hint or "gru"
    w, r = b.array(op.w)[0], b.array(op.r)[0]
    bias = np.zeros(6 * hid, np.float32) if op.b is None else b.array(op.b)[0]
    wn, rn = _sym(op.w, "w"), _sym(op.r, "r")
    lbr = op.linear_before_reset is not None
    rows = [slice(k * hid, (k + 1) * hid) for k in range(3)]
    wb, rb = bias[: 3 * hid], bias[3 * hid :]
    xs, x2 = _inputs(op, b, gemm, hidden_states)
    gates = {  # name: (W rows, bias, R rows)
        "z": (w[rows[0]], wb[rows[0]] + rb[rows[0]], r[rows[0]]),
        "zn": (-w[rows[0]], -(wb[rows[0]] + rb[rows[0]]), -r[rows[0]]),
        "r": (w[rows[1]], wb[rows[1]] + rb[rows[1]], r[rows[1]]),
        "h": (w[rows[2]], wb[rows[2]] + (0 if lbr else rb[rows[2]]), r[rows[2]]),
    }
    proj, rw = {}, {}
    for g, (wg, bg, rg) in gates.items():
        wv = b.const(op.w, f"{wn}.{g}", wg)
        bv = b.const(op.w, f"{wn}.{g}.b", bg)
        rw[g] = b.const(op.r, f"{rn}.{g}", rg)
        proj[g] = _project(b, xs, x2, wv, bv, seq, batch, f"{base}.p{g}")
    rbh = b.const(op.r, f"{rn}.h.b", rb[rows[2]]) if lbr else None
    if op.initial_h is not None:
        h = _named(b.add(dnn.ReshapeOp(op.initial_h, (batch, hid))), f"{base}.h0")
    else:
        first = xs[0] if xs is not None else _steps(b, x2, seq, batch, f"{base}.x")[0]
        zero = b.const(op.w, f"{wn}.zero", np.zeros((hid, dnn.shape_of(first)[1]), np.float32))
        h = _named(b.add(dnn.DenseOp(first, zero, None, trans_b=True)), f"{base}.h0")
    ys: list[SSAValue] = []
    for t in range(seq):
        def gate(g: str, t: int = t, h: SSAValue = h) -> SSAValue:
            rec = _named(b.add(dnn.DenseOp(h, rw[g], None, trans_b=True)), f"{base}.r{g}.t{t}")
            return _named(b.add(dnn.AddOp(proj[g][t], rec)), f"{base}.a{g}.t{t}")

        z_t = _named(b.add(dnn.SigmoidOp(gate("z"))), f"{base}.z.t{t}")
        zn_t = _named(b.add(dnn.SigmoidOp(gate("zn"))), f"{base}.zn.t{t}")
        r_t = _named(b.add(dnn.SigmoidOp(gate("r"))), f"{base}.r.t{t}")
        if lbr:
            rec = _named(b.add(dnn.DenseOp(h, rw["h"], rbh, trans_b=True)), f"{base}.rh.t{t}")
            rec = _named(b.add(dnn.MulOp(r_t, rec)), f"{base}.rrh.t{t}")
        else:
            rh = _named(b.add(dnn.MulOp(r_t, h)), f"{base}.rh.t{t}")
            rec = _named(b.add(dnn.DenseOp(rh, rw["h"], None, trans_b=True)), f"{base}.rrh.t{t}")
        a_n = _named(b.add(dnn.AddOp(proj["h"][t], rec)), f"{base}.ah.t{t}")
        n_t = _named(b.add(dnn.TanhOp(a_n)), f"{base}.n.t{t}")
        keep = _named(b.add(dnn.MulOp(z_t, h)), f"{base}.zh.t{t}")
        new = _named(b.add(dnn.MulOp(zn_t, n_t)), f"{base}.zn_n.t{t}")
        h = _named(b.add(dnn.AddOp(new, keep)), f"{base}.h.t{t}")
        ys.append(h)
    _finish(op, b, ys, [h], hidden_states)


def unroll_simple(op: dnn.RnnOp, weights: WeightStoreLike | None, *, gemm: bool = False,
                  hidden_states: dict[SSAValue, list[SSAValue]] | None = None) -> None:
    """RNN: h_t = f(x_t W^T + Wb + Rb + h_{t-1} R^T), f tanh, sigmoid or relu."""
    hidden_states = {} if hidden_states is None else hidden_states
    b = _Builder(op, weights)
    seq, batch, _ = dnn.shape_of(op.x)
    hid, base = op.hidden, op.y.name_hint or "rnn"
    w, r = b.array(op.w)[0], b.array(op.r)[0]
    bias = np.zeros(2 * hid, np.float32) if op.b is None else b.array(op.b)[0]
    act = _RNN_ACTS["tanh" if op.activations is None else op.activations.data[0].data.lower()]
    xs, x2 = _inputs(op, b, gemm, hidden_states)
    wv = b.const(op.w, f"{_sym(op.w, 'w')}.i", w)
    bv = b.const(op.w, f"{_sym(op.w, 'w')}.i.b", bias[:hid] + bias[hid:])
    rv = b.const(op.r, f"{_sym(op.r, 'r')}.i", r)
    proj = _project(b, xs, x2, wv, bv, seq, batch, f"{base}.p")
    h = None
    if op.initial_h is not None:
        h = _named(b.add(dnn.ReshapeOp(op.initial_h, (batch, hid))), f"{base}.h0")
    ys: list[SSAValue] = []
    for t in range(seq):
        a = proj[t]
        if h is not None:
            rec = _named(b.add(dnn.DenseOp(h, rv, None, trans_b=True)), f"{base}.r.t{t}")
            a = _named(b.add(dnn.AddOp(a, rec)), f"{base}.a.t{t}")
        h = _named(b.add(act(a)), f"{base}.h.t{t}")
        ys.append(h)
    assert h is not None
    _finish(op, b, ys, [h], hidden_states)


def unroll(
    module: builtin.ModuleOp,
    weights: WeightStoreLike | None = None,
    *,
    gemm: bool = False,
    max_batch: int | None = None,
) -> list[tuple[Operation, str]]:
    """Unroll every supported recurrent layer of @main (forward LSTM, GRU, RNN; see
    `unsupported_reason`); returns the layers left fused, with the reason."""
    block = main_function(module).body.block
    left: list[tuple[Operation, str]] = []
    hidden_states: dict[SSAValue, list[SSAValue]] = {}
    for op in list(block.ops):
        if isinstance(op, dnn.LstmOp | dnn.GruOp | dnn.RnnOp):
            why = unsupported_reason(op, max_batch)
            if why is not None:
                left.append((op, why))
                continue
            fn = {dnn.LstmOp: unroll_lstm, dnn.GruOp: unroll_gru, dnn.RnnOp: unroll_simple}
            fn[type(op)](op, weights, gemm=gemm, hidden_states=hidden_states)  # type: ignore
    for op in reversed(list(block.ops)):  # a stacked layer's Y that only fed the next layer
        if isinstance(op, dnn.ReshapeOp | dnn.ConcatOp) and not op.results[0].uses:
            Rewriter.erase_op(op)
    return left


class DnnUnrollRnnPass(ModulePass):
    """Unrolls forward LSTM / GRU / RNN layers into dense / add / mul / sigmoid / tanh / concat
    (see the module docs). Option `weights` (.npz WeightStore; needed with dnn.weight operands)
    and `out-weights` (where to write the store with the per-gate arrays)."""

    name = "dnn-unroll-rnn"

    weights: str | None = None
    out_weights: str | None = None

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        from fvir.frontend.weights import WeightStore

        store = WeightStore.load(self.weights) if self.weights is not None else None
        try:
            unroll(op, store)
        except UserError as exc:
            raise PassFailedException(str(exc)) from None
        if self.out_weights is not None:
            (store if store is not None else WeightStore()).save(self.out_weights)
