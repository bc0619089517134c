"""Reference executor: run the `@main` function of a `dnn` module in numpy.

This is the oracle the simulator and every later backend are checked against, so each op is
one small numpy function that follows the ONNX operator definition as literally as possible;
speed does not matter (it is vectorized over pixels, but loops over kernel offsets, groups and
time steps). Ops execute in program order from a `{OpClass: function}` table. Floating-point
math is done in the tensors' own type (float32 for real models, like ONNX runtimes), and every
result is checked against the shape and cast to the element type its IR type declares, so an
op implemented wrongly, or IR that lies about its types, fails loudly instead of propagating.

Ops on int8 fixed-point tensors (`tensor<...xi8, #dnn.fixed<F>>`, the output of
`dnn-quantize`) run the integer semantics of docs/quantization.md from `fvir.reference.int8`
instead: the bit-exact oracle of the accelerator. `run(..., observe=f)` calls `f(value, array)`
for every argument and op result as it is computed (calibration reads activation ranges so).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    ModuleOp,
)
from xdsl.ir import Operation

from fvir import onnxops
from fvir.errors import UserError
from fvir.ir import dnn
from fvir.ir.weights import WeightLookup, numpy_dtype
from fvir.reference.values import Observer, OpImpl, Values, fits, fmt, interpret, tensor_type
from fvir.reference.windows import pad_hw, windows

# ------------------------------------------------------------------------ activations


def apply_act(y: np.ndarray, act: dnn.ActivationAttr | None) -> np.ndarray:
    """A fused `#dnn.act<...>`, applied to the op's finished output."""
    if act is None:
        return y
    kind, p = act.act_kind, act.values
    if kind == dnn.ActKind.RELU:
        return np.maximum(y, 0).astype(y.dtype)
    if kind == dnn.ActKind.CLIP:
        return np.clip(y, p[0], p[1]).astype(y.dtype)
    if kind == dnn.ActKind.LEAKY_RELU:
        return np.where(y >= 0, y, y * p[0]).astype(y.dtype)
    if kind == dnn.ActKind.SIGMOID:
        return _sigmoid(y)
    if kind == dnn.ActKind.TANH:
        return np.tanh(y)
    raise NotImplementedError(f"activation {kind}")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) -> inf gives the right limit 0
        return (1 / (1 + np.exp(-x))).astype(x.dtype)


# ----------------------------------------------------------------- values and weights


def _weight(op: dnn.WeightOp, v: Values) -> list[np.ndarray]:
    name = op.sym.data
    if name not in v.weights:
        raise UserError(f"weight '{name}' is missing from the weight store")
    array = np.asarray(v.weights[name])
    declared = tensor_type(op.output)
    if not fits(array.shape, declared.get_shape()):
        raise UserError(
            f"weight '{name}' has shape {fmt(array.shape)}, "
            f"the model expects {fmt(declared.get_shape())}"
        )
    if array.dtype != numpy_dtype(declared.element_type):
        raise UserError(
            f"weight '{name}' has dtype {array.dtype}, "
            f"the model expects {numpy_dtype(declared.element_type)}"
        )
    return [array]


def _constant(op: dnn.ConstantOp, v: Values) -> list[np.ndarray]:
    attr: DenseIntOrFPElementsAttr = op.value
    shape = tuple(tensor_type(op.output).get_shape())
    values = np.array(attr.get_values(), dtype=numpy_dtype(attr.get_element_type()))
    if values.size == 1 and math.prod(shape) != 1:  # a splat stores one value
        return [np.full(shape, values[0])]
    return [values.reshape(shape)]


# ------------------------------------------------------------------------ convolution


def _conv2d(op: dnn.Conv2dOp, v: Values) -> list[np.ndarray]:
    """Grouped, dilated convolution as im2col + one matmul per group."""
    x, w, b = v(op.input), v(op.weight), v.opt(op.bias)
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    g = op.groups
    og = o // g
    oh, ow = tensor_type(op.output).get_shape()[2:]
    xp = pad_hw(x, dnn.ints(op.pads), 0)
    out = np.empty((n, o, oh, ow), dtype=x.dtype)
    for gi in range(g):
        cols = windows(
            xp[:, gi * cg : (gi + 1) * cg],
            (kh, kw),
            dnn.ints(op.strides),
            dnn.ints(op.dilations),
            (oh, ow),
        )  # [N, Cg, KH*KW, OH, OW]; flattening (c, kh, kw) matches w's OIHW layout
        cols = cols.reshape(n, cg * kh * kw, oh * ow)
        wg = w[gi * og : (gi + 1) * og].reshape(og, cg * kh * kw)
        out[:, gi * og : (gi + 1) * og] = (wg @ cols).reshape(n, og, oh, ow)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return [apply_act(out, op.act)]


# ---------------------------------------------------------------------------- pooling


def _lowest(dtype: np.dtype) -> float | int:
    return -np.inf if dtype.kind == "f" else int(np.iinfo(dtype).min)


def _pool2d(op: dnn.Pool2dOp, v: Values) -> list[np.ndarray]:
    """Max/average pooling. The windows are taken over the input padded with `pads` and, for
    ceil_mode, with whatever more the last window needs; the average divides by the number
    of window taps that fall on the input (or on input + `pads` with count_include_pad)."""
    x = v(op.input)
    kernel, strides = dnn.ints(op.kernel), dnn.ints(op.strides)
    dilations, pads = dnn.ints(op.dilations), dnn.ints(op.pads)
    oh, ow = tensor_type(op.output).get_shape()[2:]
    h, w = x.shape[2:]
    # Extra bottom/right padding so that every window of the declared output fits.
    need_h = (oh - 1) * strides[0] + dilations[0] * (kernel[0] - 1) + 1
    need_w = (ow - 1) * strides[1] + dilations[1] * (kernel[1] - 1) + 1
    extra_h = max(0, need_h - (h + pads[0] + pads[2]))
    extra_w = max(0, need_w - (w + pads[1] + pads[3]))
    full_pads = (pads[0], pads[1], pads[2] + extra_h, pads[3] + extra_w)
    if op.kind.data == dnn.PoolKind.MAX:
        xp = pad_hw(x, full_pads, _lowest(x.dtype))
        cols = windows(xp, kernel, strides, dilations, (oh, ow))
        return [cols.max(axis=2)]
    xp = pad_hw(x, full_pads, 0)
    sums = windows(xp, kernel, strides, dilations, (oh, ow)).sum(axis=2)
    # Which padded positions count towards the divisor: 1 on the input, and on `pads` too
    # with count_include_pad; never on the ceil_mode extension.
    ones = np.ones((1, 1, h, w), dtype=np.float64)
    if op.count_include_pad is not None:
        ones = pad_hw(ones, pads, 1)
        mask = pad_hw(ones, (0, 0, extra_h, extra_w), 0)
    else:
        mask = pad_hw(ones, full_pads, 0)
    counts = windows(mask, kernel, strides, dilations, (oh, ow)).sum(axis=2)
    return [(sums / counts).astype(x.dtype)]


def _global_pool(op: dnn.GlobalPoolOp, v: Values) -> list[np.ndarray]:
    x = v(op.input)
    axes = tuple(range(2, x.ndim))
    if op.kind.data == dnn.PoolKind.MAX:
        return [x.max(axis=axes, keepdims=True)]
    return [x.mean(axis=axes, keepdims=True).astype(x.dtype)]


# ----------------------------------------------------------------------- dense / matmul


def _dense(op: dnn.DenseOp, v: Values) -> list[np.ndarray]:
    """ONNX Gemm: alpha * A' @ B' + beta * C, C broadcast to [M, N]."""
    a, b, c = v(op.input), v(op.weight), v.opt(op.bias)
    if op.trans_a is not None:
        a = a.T
    if op.trans_b is not None:
        b = b.T
    y = op.alpha.value.data * (a @ b)
    if c is not None:
        y = y + op.beta.value.data * c
    return [apply_act(y.astype(a.dtype), op.act)]


def _matmul(op: dnn.MatMulOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("MatMul", [v(op.lhs), v(op.rhs)], {})


# ------------------------------------------------------------------------------ eltwise


def _add(op: dnn.AddOp, v: Values) -> list[np.ndarray]:
    return [apply_act(v(op.lhs) + v(op.rhs), op.act)]


def _sub(op: dnn.SubOp, v: Values) -> list[np.ndarray]:
    return [v(op.lhs) - v(op.rhs)]


def _mul(op: dnn.MulOp, v: Values) -> list[np.ndarray]:
    return [v(op.lhs) * v(op.rhs)]


def _div(op: dnn.DivOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("Div", [v(op.lhs), v(op.rhs)], {})  # integer division truncates


def _sum(op: dnn.SumOp, v: Values) -> list[np.ndarray]:
    total = v(op.inputs[0])
    for x in op.inputs[1:]:
        total = total + v(x)
    return [total]


def _relu(op: dnn.ReluOp, v: Values) -> list[np.ndarray]:
    return [apply_act(v(op.input), dnn.ActivationAttr(dnn.ActKind.RELU))]


def _sigmoid_op(op: dnn.SigmoidOp, v: Values) -> list[np.ndarray]:
    return [_sigmoid(v(op.input))]


def _tanh(op: dnn.TanhOp, v: Values) -> list[np.ndarray]:
    return [np.tanh(v(op.input))]


def _silu(op: dnn.SiluOp, v: Values) -> list[np.ndarray]:
    x = v(op.input)
    return [x * _sigmoid(x)]  # as exported: a Sigmoid, then a Mul


def _hardswish(op: dnn.HardSwishOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("HardSwish", [v(op.input)], {})


def _hardsigmoid(op: dnn.HardSigmoidOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("HardSigmoid", [v(op.input)], {"alpha": 1 / 6, "beta": 0.5})


def _clip(op: dnn.ClipOp, v: Values) -> list[np.ndarray]:
    x = v(op.input)
    return [np.clip(x, op.lo.value.data, op.hi.value.data).astype(x.dtype)]


def _leaky_relu(op: dnn.LeakyReluOp, v: Values) -> list[np.ndarray]:
    x = v(op.input)
    return [np.where(x >= 0, x, x * op.alpha.value.data).astype(x.dtype)]


def _softmax(op: dnn.SoftmaxOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("Softmax", [v(op.input)], {"axis": op.axis.value.data})


def _gelu(op: dnn.GeluOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("Gelu", [v(op.input)], {})


def _layer_norm(op: dnn.LayerNormOp, v: Values) -> list[np.ndarray]:
    """Over the axes from `axis` to the last, in float64 (as onnxruntime's float accumulation
    and division, rounded once to the input's type)."""
    x = v(op.input)
    axes = tuple(range(x.ndim - len(op.normalized_shape()), x.ndim))
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (x64 - mean) / np.sqrt(var + op.epsilon.value.data) * v(op.scale)
    if op.bias is not None:
        y = y + v(op.bias)
    return [y.astype(x.dtype)]


def _batchnorm(op: dnn.BatchNormOp, v: Values) -> list[np.ndarray]:
    x = v(op.input)
    shape = (1, -1) + (1,) * (x.ndim - 2)  # per-channel parameters along axis 1
    scale, bias = v(op.scale).reshape(shape), v(op.bias).reshape(shape)
    mean, var = v(op.mean).reshape(shape), v(op.var).reshape(shape)
    eps = op.epsilon.value.data
    return [(scale * (x - mean) / np.sqrt(var + eps) + bias).astype(x.dtype)]


# ------------------------------------------------------------------------ data movement


def _concat(op: dnn.ConcatOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("Concat", [v(x) for x in op.inputs], {"axis": op.axis.value.data})


def _reshape(op: dnn.ReshapeOp, v: Values) -> list[np.ndarray]:
    shape = [d if d >= 0 else -1 for d in tensor_type(op.output).get_shape()]
    return [v(op.input).reshape(shape)]


def _flatten(op: dnn.FlattenOp, v: Values) -> list[np.ndarray]:
    x = v(op.input)
    axis = op.axis.value.data
    axis = axis + x.ndim if axis < 0 else axis
    return [x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))]


def _transpose(op: dnn.TransposeOp, v: Values) -> list[np.ndarray]:
    return onnxops.call("Transpose", [v(op.input)], {"perm": dnn.ints(op.perm)})


# ---------------------------------------------------------------------------- recurrent

# ONNX recurrent activation functions: name -> (fn(x, alpha, beta), #alpha, #beta, default
# alpha, default beta). Like onnxruntime, activation_alpha/beta are consumed in order by the
# functions that take a parameter, and a function whose list ran out takes its default.
_RNN_ACTS: dict[
    str, tuple[Callable[[np.ndarray, float, float], np.ndarray], int, int, float, float]
] = {
    "relu": (lambda x, a, b: np.maximum(x, 0), 0, 0, 0.0, 0.0),
    "tanh": (lambda x, a, b: np.tanh(x), 0, 0, 0.0, 0.0),
    "sigmoid": (lambda x, a, b: _sigmoid(x), 0, 0, 0.0, 0.0),
    "affine": (lambda x, a, b: a * x + b, 1, 1, 1.0, 0.0),
    "leakyrelu": (lambda x, a, b: np.where(x >= 0, x, a * x), 1, 0, 0.01, 0.0),
    "thresholdedrelu": (lambda x, a, b: np.where(x > a, x, 0), 1, 0, 1.0, 0.0),
    "scaledtanh": (lambda x, a, b: a * np.tanh(b * x), 1, 1, 1.0, 1.0),
    "hardsigmoid": (lambda x, a, b: np.clip(a * x + b, 0, 1), 1, 1, 0.2, 0.5),
    "elu": (lambda x, a, b: np.where(x >= 0, x, a * (np.exp(x) - 1)), 1, 0, 1.0, 0.0),
    "softsign": (lambda x, a, b: x / (1 + np.abs(x)), 0, 0, 0.0, 0.0),
    "softplus": (lambda x, a, b: np.logaddexp(0, x), 0, 0, 0.0, 0.0),
}

_DEFAULT_ACTS = {
    "dnn.lstm": ["Sigmoid", "Tanh", "Tanh"],
    "dnn.gru": ["Sigmoid", "Tanh"],
    "dnn.rnn": ["Tanh"],
}

Act = Callable[[np.ndarray], np.ndarray]


def _floats(attr: ArrayAttr | None) -> list[float]:
    return [] if attr is None else [a.value.data for a in attr.data]


def _rnn_activations(op: dnn._Recurrent) -> list[list[Act]]:
    """The activation functions of each direction (f, g[, h] per direction)."""
    per_dir = len(_DEFAULT_ACTS[op.name])
    names = (
        [a.data for a in op.activations.data]
        if op.activations is not None
        else _DEFAULT_ACTS[op.name] * op.num_directions
    )
    alphas, betas = _floats(op.activation_alpha), _floats(op.activation_beta)
    clip = None if op.clip is None else op.clip.value.data
    fns: list[Act] = []
    for name in names:
        key = name.lower()
        if key not in _RNN_ACTS:
            raise UserError(f"unsupported recurrent activation '{name}'")
        fn, n_alpha, n_beta, alpha, beta = _RNN_ACTS[key]
        if n_alpha and alphas:
            alpha = alphas.pop(0)
        if n_beta and betas:
            beta = betas.pop(0)
        fns.append(_with_clip(fn, alpha, beta, clip))
    return [fns[d * per_dir : (d + 1) * per_dir] for d in range(op.num_directions)]


def _with_clip(
    fn: Callable[[np.ndarray, float, float], np.ndarray],
    alpha: float,
    beta: float,
    clip: float | None,
) -> Act:
    """`clip` bounds the input of every activation to [-clip, clip] (ONNX `clip`)."""

    def act(x: np.ndarray) -> np.ndarray:
        if clip is not None:
            x = np.clip(x, -clip, clip)
        return np.asarray(fn(x, alpha, beta)).astype(x.dtype)

    return act


def _time_order(x: np.ndarray, lens: np.ndarray, reverse: bool) -> np.ndarray:
    """Time index read at step i for each batch entry: [seq, batch]. Reverse runs over each
    sequence's valid part backwards (len-1 .. 0); indices past a sequence's end are masked."""
    steps = np.arange(x.shape[0])[:, None]
    if not reverse:
        return np.broadcast_to(steps, (x.shape[0], x.shape[1]))
    return np.clip(lens[None, :] - 1 - steps, 0, x.shape[0] - 1)


def _recurrent(
    op: dnn._Recurrent,
    v: Values,
    cell: Callable[[int, np.ndarray, list[np.ndarray], list[Act]], list[np.ndarray]],
    initial: list[np.ndarray | None],
) -> list[np.ndarray]:
    """Shared driver of LSTM/GRU/RNN: runs each direction over time, holding the state and
    emitting zeros past each sequence's length, and assembles Y [seq, dirs, batch, H] and the
    final states [dirs, batch, H].

    `cell(d, x_t, states, acts) -> new states` computes one time step of direction `d`
    (states[0] is h); `initial` are the optional initial states (h[, c])."""
    x = v(op.x)
    seq, batch, _ = x.shape
    hidden, dirs = op.hidden, op.num_directions
    lens_in = v.opt(op.sequence_lens)
    lens = np.full(batch, seq, dtype=np.int64) if lens_in is None else lens_in.astype(np.int64)
    acts = _rnn_activations(op)
    y = np.zeros((seq, dirs, batch, hidden), dtype=x.dtype)
    finals = [np.zeros((dirs, batch, hidden), dtype=x.dtype) for _ in initial]
    for d in range(dirs):
        reverse = op.direction.data == dnn.RnnDirection.REVERSE or d == 1
        order = _time_order(x, lens, reverse)
        states = [
            np.zeros((batch, hidden), dtype=x.dtype) if s is None else s[d].astype(x.dtype)
            for s in initial
        ]
        for i in range(seq):
            t = order[i]  # [batch]
            valid = (i < lens)[:, None]
            x_t = x[t, np.arange(batch)]
            new = cell(d, x_t, states, acts[d])
            states = [np.where(valid, n, s) for n, s in zip(new, states, strict=True)]
            y[t, d, np.arange(batch)] = np.where(valid, new[0], y[t, d, np.arange(batch)])
        for k, s in enumerate(states):
            finals[k][d] = s
    return [y, *finals]


def _gates(op: dnn._Recurrent, v: Values, d: int, n_gates: int) -> tuple[np.ndarray, ...]:
    """W[d], R[d] and the W and R bias halves of direction d (zero when B is absent)."""
    w, r, b = v(op.w)[d], v(op.r)[d], v.opt(op.b)
    size = n_gates * op.hidden
    if b is None:
        wb = rb = np.zeros(size, dtype=w.dtype)
    else:
        wb, rb = b[d, :size], b[d, size:]
    return w, r, wb, rb


def _lstm(op: dnn.LstmOp, v: Values) -> list[np.ndarray]:
    """ONNX LSTM, gate order i, o, f, c; peepholes P = [Pi, Po, Pf]:
    it = f(Xt Wi^T + Ht-1 Ri^T + Pi . Ct-1 + Wbi + Rbi), ft likewise with Pf (or 1 - it with
    input_forget), ct = g(...), Ct = ft . Ct-1 + it . ct, ot = f(... + Po . Ct), Ht = ot . h(Ct).
    """
    h_size = op.hidden
    p_all = v.opt(op.p)

    def cell(
        d: int, x_t: np.ndarray, states: list[np.ndarray], acts: list[Act]
    ) -> list[np.ndarray]:
        f, g, h = acts
        h_prev, c_prev = states
        w, r, wb, rb = _gates(op, v, d, 4)
        z = x_t @ w.T + h_prev @ r.T + wb + rb
        zi, zo, zf, zc = (z[:, k * h_size : (k + 1) * h_size] for k in range(4))
        if p_all is None:
            pi = po = pf = np.zeros(h_size, dtype=x_t.dtype)
        else:
            pi, po, pf = (p_all[d, k * h_size : (k + 1) * h_size] for k in range(3))
        i_t = f(zi + pi * c_prev)
        f_t = (1 - i_t) if op.input_forget is not None else f(zf + pf * c_prev)
        c_t = f_t * c_prev + i_t * g(zc)
        o_t = f(zo + po * c_t)
        return [o_t * h(c_t), c_t]

    return _recurrent(op, v, cell, [v.opt(op.initial_h), v.opt(op.initial_c)])


def _gru(op: dnn.GruOp, v: Values) -> list[np.ndarray]:
    """ONNX GRU, gate order z, r, h:
    zt = f(Xt Wz^T + Ht-1 Rz^T + Wbz + Rbz), rt likewise,
    ht = g(Xt Wh^T + (rt . Ht-1) Rh^T + Rbh + Wbh)            (linear_before_reset = 0)
    ht = g(Xt Wh^T + rt . (Ht-1 Rh^T + Rbh) + Wbh)            (linear_before_reset != 0)
    Ht = (1 - zt) . ht + zt . Ht-1."""
    hs = op.hidden

    def cell(
        d: int, x_t: np.ndarray, states: list[np.ndarray], acts: list[Act]
    ) -> list[np.ndarray]:
        f, g = acts
        (h_prev,) = states
        w, r, wb, rb = _gates(op, v, d, 3)
        xw = x_t @ w.T + wb
        z_t = f(xw[:, :hs] + h_prev @ r[:hs].T + rb[:hs])
        r_t = f(xw[:, hs : 2 * hs] + h_prev @ r[hs : 2 * hs].T + rb[hs : 2 * hs])
        rh, rbh = r[2 * hs :], rb[2 * hs :]
        if op.linear_before_reset is not None:
            h_t = g(xw[:, 2 * hs :] + r_t * (h_prev @ rh.T + rbh))
        else:
            h_t = g(xw[:, 2 * hs :] + (r_t * h_prev) @ rh.T + rbh)
        return [(1 - z_t) * h_t + z_t * h_prev]

    return _recurrent(op, v, cell, [v.opt(op.initial_h)])


def _rnn(op: dnn.RnnOp, v: Values) -> list[np.ndarray]:
    """ONNX RNN: Ht = f(Xt Wi^T + Ht-1 Ri^T + Wbi + Rbi)."""

    def cell(
        d: int, x_t: np.ndarray, states: list[np.ndarray], acts: list[Act]
    ) -> list[np.ndarray]:
        (f,) = acts
        w, r, wb, rb = _gates(op, v, d, 1)
        return [f(x_t @ w.T + states[0] @ r.T + wb + rb)]

    return _recurrent(op, v, cell, [v.opt(op.initial_h)])


# --------------------------------------------------------------------------------- host


def _host(op: dnn.HostOp, v: Values) -> list[np.ndarray]:
    """The op's ONNX kernel (`fvir.onnxops`), the one the importer folds constants with."""
    inputs = [v(x) for x in op.inputs]
    return onnxops.call(op.op_type.data, inputs, op.python_attrs(), len(op.outputs))


# -------------------------------------------------------------------------------- table


OPS: dict[type[Operation], OpImpl] = {
    dnn.WeightOp: _weight,
    dnn.ConstantOp: _constant,
    dnn.Conv2dOp: _conv2d,
    dnn.Pool2dOp: _pool2d,
    dnn.GlobalPoolOp: _global_pool,
    dnn.DenseOp: _dense,
    dnn.MatMulOp: _matmul,
    dnn.AddOp: _add,
    dnn.SubOp: _sub,
    dnn.MulOp: _mul,
    dnn.DivOp: _div,
    dnn.SumOp: _sum,
    dnn.ReluOp: _relu,
    dnn.SigmoidOp: _sigmoid_op,
    dnn.HardSwishOp: _hardswish,
    dnn.HardSigmoidOp: _hardsigmoid,
    dnn.SiluOp: _silu,
    dnn.TanhOp: _tanh,
    dnn.ClipOp: _clip,
    dnn.LeakyReluOp: _leaky_relu,
    dnn.SoftmaxOp: _softmax,
    dnn.GeluOp: _gelu,
    dnn.LayerNormOp: _layer_norm,
    dnn.BatchNormOp: _batchnorm,
    dnn.ConcatOp: _concat,
    dnn.ReshapeOp: _reshape,
    dnn.FlattenOp: _flatten,
    dnn.TransposeOp: _transpose,
    dnn.LstmOp: _lstm,
    dnn.GruOp: _gru,
    dnn.RnnOp: _rnn,
    dnn.HostOp: _host,
}
"""The numpy implementation of every op the executor runs."""




def _float_impl(op: Operation) -> OpImpl:
    if dnn.is_fixed_op(op):
        raise UserError(f"'{op.name}' computes on int8 fixed-point tensors: the int8 reference "
                        f"(fvir.reference.int8.run) runs quantized modules")
    impl = OPS.get(type(op))
    if impl is None:
        raise UserError(f"the reference executor cannot run '{op.name}'")
    return impl


def run(
    module: ModuleOp,
    weights: WeightLookup,
    inputs: Sequence[np.ndarray] | Mapping[str, np.ndarray],
    *,
    observe: Observer | None = None,
) -> list[np.ndarray]:
    """Execute `@main` of a float dnn module on `inputs` (see `values.interpret`)."""
    return interpret(module, weights, inputs, _float_impl, observe=observe)
