"""`dnn-quantize`: rewrite a float dnn module into int8 fixed-point IR (docs/quantization.md).

The accelerator computes in int8 with int32 accumulation, power-of-two scales and zero points.
This pass chooses every encoding from calibration and rewrites `@main` into the quantized form
that the int8 reference executor (`fvir.reference.int8`) runs bit-exactly and the backend
lowers.

Algorithm:
1. Split: a fused activation that an int8 op cannot apply on its way out becomes its own op:
   sigmoid and tanh (lookup tables), clip with lo != 0 (RELU6 clamps at 0), leaky_relu whose
   round(alpha * 256) does not fit act_arg.
2. Select the int8 ops by the contract's table (`fvir.hw.capability.int8_form`). "Compute"
   ops are int8 whenever they qualify: conv2d and dense whose weight and bias are
   `dnn.weight` / `dnn.constant` (dense: no trans_a, bias [N]), add and mul of equal shapes
   (or rhs a per-channel vector of an image),
   average pools that divide by the whole window, global pools, sigmoid, tanh; and the
   accelerator can run them (its ISA limits and batch-1 shapes,
   `fvir.hw.capability.problem`): the host computes in float, so an int8 compute op placed
   there would lose its integer semantics. "Exact" ops (relu, clip, max pooling,
   concat, reshape, flatten, transpose) are int8 when one of their inputs or users is (to a
   fixpoint): quantizing commutes with them, and an exact op between float ops would only add
   a quantize/dequantize round trip. Everything else stays float.
3. Calibrate: run the fp32 reference executor on the calibration inputs (default: `samples`
   seeded standard-normal inputs) and record the range [min, max] of every value.
4. Encodings (F, Z): every value that exists in int8 (the results of int8 ops, and the float
   values an int8 op consumes) joins a class by union-find with the inputs and result of
   every exact op (they must share F and Z), except that a concat input which something else
   also uses keeps a class of its own where that buys resolution (its own F0, below, is above
   the one it would have in the concat's class) and is requantized into the concat's encoding
   on its way in (`dnn.requantize`, where the two differ): a U-Net's one-sided skip tensor
   would otherwise spend half its codes on the signed decoder branch it is concatenated
   with. A class's range is its members' union, widened to hold 0. A class that touches a
   transformer kernel (matmul, softmax, gelu, layer_norm: `SYMMETRIC_OPS`), or every class
   with `zero_points` off, is symmetric: Z = 0 and
   F0 = 7 - ceil(log2(max |x|)). Any other class centres its range on the codes:
   F0 = 7 - ceil(log2((hi - lo) / 2)), Z = -round((lo + hi) / 2 * 2**F). F is clamped to
   [-16, 24] (a zero tensor takes 24). A second calibration run measures each class's squared
   quantization error at every candidate, F0 - 1 .. F0 + 3 with the centred Z (above F0 also
   the Z keeping lo or hi and clipping only the other side), saturation included, and the
   class takes the best (ties: the later, larger F). F0 - 1 only wins where the range sits at
   a power of two; F0 + k trades saturated outliers for resolution.
5. Integer parameters, per op; shifts are non-negative by construction:
   - conv2d / dense (default, `float_weights`): a float scale per output channel,
     s[c] = max |w_c| / 127, w_q = round(w / s[c]), b_q = round(b / (2**-Fx s[c])) saturated
     so the accumulator fits int32; one `shift` and per-channel `mul` with
     mul[c] 2**-shift ~ s[c] 2**(Fy - Fx) (`rules.requant_multipliers`).
   - conv2d / dense with `float_weights` off: weight exponents Fw[c] per output channel where
     it pays (some channel gains a bit over the per-tensor exponent;
     `fvir.quant.rules.weight_fracs`), clamped to [Fy - Fx, Fy - Fx + 63];
     w_q = sat8(round(w * 2**Fw)), b_q = round(b * 2**(Fx + Fw)) saturated so the
     accumulator fits int32; shift = Fx + Fw - Fy (one entry if all equal).
   - dense folds alpha into w and beta into b.
   - add: F = max(Fa, Fb, Fy); shift_a = F - Fa, shift_b = F - Fb, shift = F - Fy (exact
     alignment; no left shift of the sum is ever needed).
   - mul: s = Fa + Fb - Fy; s < 0 becomes shift_a = -s, shift = 0; s > 63 becomes 63 (the
     product of two int8 values shifts to 0 either way).
   - average pools: avg_mul, avg_shift = `fvir.quant.rules.avg_params(window, Fx, Fy)`.
   - layer_norm: the scale at one exponent Fg by the weight rule, clamped to
     [Fy - LN_FRAC, Fy - LN_FRAC + 63]; the bias at LN_FRAC + Fg; shift = LN_FRAC + Fg - Fy.
     softmax and gelu need nothing but their exponents.
   - a fused clip(0, hi) whose RELU6 act_arg = round(hi * 2**Fy) exceeds 255 becomes relu: the
     clamp lies above 127 and sat8 gives the same result.
6. Rewrite: each int8 op is rebuilt on int8 operands, its result typed
   `tensor<...xi8, #dnn.fixed<F, Z>>`, its weights `dnn.weight "<name>.q"` (i8; the bias i32) added
   to the store (or i8/i32 `dnn.constant`s for constant weights). A `dnn.quantize` goes before
   the first int8 consumer of each float value, a `dnn.requantize` before a concat on each
   int8 input of another encoding (a float input gets a second `dnn.quantize`, straight into
   the concat's encoding), a `dnn.dequantize` after each int8 value that a
   float op or the return consumes. The float weights stay in the store.
7. Report (`QuantReport`): every int8 tensor's exponent, calibration max and the fraction of
   its calibration values that saturate at that exponent; per layer the weight exponents,
   shifts and saturated weights/biases; the ops left float and why.

Python callers use `quantize(module, weights, calibration)`. The pass takes the weight store,
the calibration inputs and the target (whose OCP output channels share a weight exponent unless
`channel-group` says otherwise) from the context (`fvir.passes.context`; in `fv-opt`: `--weights`,
`--calibration`, `--hw`); a store is required when `@main` has `dnn.weight` ops.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.context import Context
from xdsl.dialects import builtin, func
from xdsl.dialects.builtin import (
    AnyFloat,
    DenseIntOrFPElementsAttr,
    IntegerAttr,
    TensorType,
    i8,
    i32,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from fvir import calibration as calib
from fvir.errors import UserError
from fvir.hw import capability
from fvir.ir import dnn
from fvir.ir.functions import main_function
from fvir.passes import context
from fvir.quant import nonlinear, rules
from fvir.quant.contract import isa_act

WeightStoreLike = MutableMapping[str, np.ndarray]

# ------------------------------------------------------------------------------- report


@dataclass
class TensorStat:
    """One int8 tensor: its exponent and zero point, calibration range and saturated
    fraction."""

    name: str
    frac: int
    max_abs: float
    clipped: float
    zero: int = 0
    lo: float = 0.0  # calibration min
    hi: float = 0.0  # calibration max


@dataclass
class LayerStat:
    """One conv2d / dense: weight exponents, shifts and saturation counts."""

    name: str
    op: str
    per_channel: bool
    weight_fracs: tuple[int, int]  # min, max
    shifts: tuple[int, int]  # min, max
    weight_saturated: int
    bias_saturated: int


@dataclass
class QuantReport:
    """What `quantize` did: exponents, clipping statistics and the ops left in float."""

    samples: int
    tensors: list[TensorStat] = field(default_factory=list)
    layers: list[LayerStat] = field(default_factory=list)
    float_ops: list[tuple[str, str]] = field(default_factory=list)  # (op, reason)

    def format(self) -> str:
        """A human-readable summary."""
        lines = [f"calibration samples: {self.samples}",
                 "tensors (F, Z, calibration range, clipped):"]
        lines += [
            f"  {t.name}: F={t.frac} Z={t.zero} range=[{t.lo:.4g}, {t.hi:.4g}] "
            f"clipped={t.clipped:.2e}"
            for t in self.tensors
        ]
        lines.append("layers (weight F, shift, saturated weights / biases):")
        lines += [
            f"  {w.name} ({w.op}{', per channel' if w.per_channel else ''}): "
            f"Fw={w.weight_fracs[0]}..{w.weight_fracs[1]} shift={w.shifts[0]}..{w.shifts[1]} "
            f"saturated={w.weight_saturated}/{w.bias_saturated}"
            for w in self.layers
        ]
        lines.append(f"float ops: {len(self.float_ops)}")
        lines += [f"  {op}: {why}" for op, why in self.float_ops]
        return "\n".join(lines)


# ---------------------------------------------------------------------- 1. split acts


def _fits_int8(act: dnn.ActivationAttr) -> bool:
    """Can an int8 conv/dense/add apply `act` itself (the contract's act table, `isa_act`;
    whether clip(0, hi) has an act_arg does not depend on the exponent)?"""
    try:
        isa_act(act, 0)
    except ValueError:
        return False
    return True


def _standalone(value: SSAValue, act: dnn.ActivationAttr) -> Operation:
    kind, p = act.act_kind, act.values
    if kind == dnn.ActKind.SIGMOID:
        return dnn.SigmoidOp(value)
    if kind == dnn.ActKind.TANH:
        return dnn.TanhOp(value)
    if kind == dnn.ActKind.CLIP:
        return dnn.ClipOp(value, p[0], p[1])
    if kind == dnn.ActKind.LEAKY_RELU:
        return dnn.LeakyReluOp(value, p[0])
    return dnn.ReluOp(value)


def split_activations(block: Block) -> int:
    """Step 1: move fused activations no int8 op can apply into their own ops."""
    count = 0
    for op in list(block.ops):
        if not isinstance(op, dnn.Conv2dOp | dnn.DenseOp | dnn.AddOp) or op.act is None:
            continue
        if _fits_int8(op.act):
            continue
        act = op.properties.pop("act")
        assert isinstance(act, dnn.ActivationAttr)
        new = _standalone(op.output, act)
        Rewriter.insert_op(new, InsertPoint.after(op))
        op.output.replace_uses_with_if(
            new.results[0], lambda use, new=new: use.operation is not new
        )
        hint = op.output.name_hint
        new.results[0].name_hint, op.output.name_hint = hint, f"{hint}.pre" if hint else None
        count += 1
    return count


# -------------------------------------------------------------------------- 2. select

def _is_float(value: SSAValue) -> bool:
    ty = value.type
    return isinstance(ty, TensorType) and isinstance(ty.element_type, AnyFloat)


def _static(value: SSAValue | None) -> bool:
    """A weight or bias the pass can quantize offline (None: no bias)."""
    return value is None or (
        isinstance(value.owner, dnn.WeightOp | dnn.ConstantOp) and _is_float(value)
    )


def data_operands(op: Operation) -> list[SSAValue]:
    """The activation operands of an op (conv2d / dense: not the weight and bias)."""
    if isinstance(op, dnn.Conv2dOp | dnn.DenseOp | dnn.LayerNormOp):
        return [op.input]
    return list(op.operands)


def _compute_reason(op: Operation) -> str | None:
    """Why a compute op cannot be int8 (None: it can): the contract's conditions, then the
    accelerator's (`capability.problem`: the host has no integer semantics for a conv, dense,
    eltwise or lookup-table op, so one the accelerator cannot run stays float)."""
    reason = _contract_reason(op)
    if reason is None and (problem := capability.problem(op)) is not None:
        return f"no accelerator lowering: {problem}"
    return reason


def _contract_reason(op: Operation) -> str | None:
    if isinstance(op, dnn.LayerNormOp):
        return None if _static(op.scale) and _static(op.bias) else "weights computed at run time"
    if isinstance(op, dnn.Conv2dOp):
        return None if _static(op.weight) and _static(op.bias) else "weights computed at run time"
    if isinstance(op, dnn.DenseOp):
        n = dnn.shape_of(op.output)[1]
        if op.trans_a is not None:
            return "dense with trans_a"
        if op.bias is not None and dnn.shape_of(op.bias) != (n,):
            return f"dense bias is not [{n}]"
        return None if _static(op.weight) and _static(op.bias) else "weights computed at run time"
    if isinstance(op, dnn.AddOp | dnn.MulOp):
        shapes = (dnn.shape_of(op.lhs), dnn.shape_of(op.rhs), dnn.shape_of(op.output))
        return None if dnn.int8_eltwise_shapes(*shapes) else "broadcasting eltwise op"
    if isinstance(op, dnn.Pool2dOp):  # average (max pooling is exact)
        if any(dnn.ints(op.pads)) and op.count_include_pad is None:
            return "average pooling that does not count padding"
        return None if op.ceil_extension() == (0, 0) else "average pooling with a ceil_mode window"
    return None


def select(block: Block) -> tuple[list[Operation], list[tuple[Operation, str]]]:
    """Step 2: the int8 ops in program order, and the float ops with the reason.

    Compute ops are int8 when they qualify. An exact op is int8 when one of its inputs or one
    of its users is (to a fixpoint): quantization is monotonic, so it commutes with max, relu,
    clip and data movement, and moving the exact op to the int8 side loses nothing, while an
    exact op between float ops would only add a quantize/dequantize round trip."""
    reasons: dict[Operation, str | None] = {}
    exact: list[Operation] = []
    for op in block.ops:
        if isinstance(op, dnn.WeightOp | dnn.ConstantOp | func.ReturnOp):
            continue
        form, data = capability.int8_form(op), data_operands(op)
        if form is None:
            reasons[op] = "not in the int8 contract"
        elif not all(_is_float(v) for v in (*data, *op.results)):
            reasons[op] = "not a float op"
        elif form == capability.Int8Form.COMPUTE:
            reasons[op] = _compute_reason(op)
        else:
            reasons[op] = "no int8 input or user"
            exact.append(op)
    changed = True
    while changed:
        changed = False
        for op in exact:
            if reasons[op] is None:
                continue
            inputs = (v.owner for v in data_operands(op))
            users = (use.operation for r in op.results for use in r.uses)
            if any(reasons.get(o, "") is None for o in (*inputs, *users)):  # type: ignore[arg-type]
                reasons[op], changed = None, True
    int8 = [op for op, why in reasons.items() if why is None]
    return int8, [(op, why) for op, why in reasons.items() if why is not None]


# ------------------------------------------------------------------------ 4. exponents


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[SSAValue, SSAValue] = {}

    def find(self, v: SSAValue) -> SSAValue:
        self.parent.setdefault(v, v)
        while self.parent[v] is not v:
            self.parent[v] = self.parent[self.parent[v]]
            v = self.parent[v]
        return v

    def union(self, values: Iterable[SSAValue]) -> None:
        roots = [self.find(v) for v in values]
        for r in roots[1:]:
            self.parent[r] = roots[0]


EXPONENT_SEARCH = (-1, 0, 1, 2, 3)
"""Candidate exponents per class, relative to F0 = 7 - ceil(log2(max |x|)). F0 saturates
nothing on the calibration data except where max |x| lies within half a step of a power of
two (one value then loses less than a step); F0 - 1 covers that corner, F0 + 1 .. F0 + 3 trade
saturated outliers for resolution."""


def exponent_classes(int8_ops: Sequence[Operation]) -> _UnionFind:
    """The values that exist in int8, joined where the contract requires one exponent."""
    classes = _UnionFind()
    for op in int8_ops:
        members = [*data_operands(op), *op.results]
        for v in members:
            classes.find(v)
        if isinstance(op, dnn.ConcatOp):
            # an input used elsewhere keeps its own encoding and is requantized on its way in
            classes.union([op.output, *(v for v in op.inputs if v.uses.get_length() == 1)])
        elif capability.int8_form(op) == capability.Int8Form.EXACT:
            classes.union(members)
    return classes


SYMMETRIC_OPS = (dnn.MatMulOp, dnn.SoftmaxOp, dnn.GeluOp, dnn.LayerNormOp)
"""int8 ops whose integer kernels take symmetric codes only (the transformer's I-BERT-style
kernels): their operands and results keep the zero point 0."""


def symmetric_classes(classes: _UnionFind, int8_ops: Sequence[Operation]) -> set[SSAValue]:
    """The roots of the classes that must keep Z = 0."""
    return {classes.find(v) for op in int8_ops if isinstance(op, SYMMETRIC_OPS)
            for v in (*data_operands(op), *op.results)}


def _spans(
    classes: _UnionFind, ranges: dict[SSAValue, tuple[float, float]]
) -> dict[SSAValue, tuple[float, float]]:
    """Each class's range: its members' union, widened to hold 0 (keyed by root)."""
    span: dict[SSAValue, tuple[float, float]] = {}
    for v in classes.parent:
        root, (lo, hi) = classes.find(v), ranges.get(v, (0.0, 0.0))
        old = span.get(root, (lo, hi))
        span[root] = (min(lo, old[0], 0.0), max(hi, old[1], 0.0))
    return span


def _natural_frac(lo: float, hi: float, symmetric: bool) -> int:
    """F0 of a range [lo, hi] holding 0: the largest exponent that saturates nothing."""
    return rules.activation_frac(max(-lo, hi) if symmetric else (hi - lo) / 2)


def join_coarse_concat_inputs(
    classes: _UnionFind, int8_ops: Sequence[Operation],
    ranges: dict[SSAValue, tuple[float, float]], symmetric: set[SSAValue],
) -> None:
    """A shared concat input keeps its own class only where that buys resolution: its own F0
    is above the F0 it would have in the concat's class. Elsewhere it joins the concat's class
    (a requantize would only add a rounding)."""
    spans = _spans(classes, ranges)
    for op in int8_ops:
        if not isinstance(op, dnn.ConcatOp):
            continue
        for v in op.inputs:
            a, b = classes.find(v), classes.find(op.output)
            if a is b:
                continue
            sym = a in symmetric or b in symmetric
            joined = (min(spans[a][0], spans[b][0]), max(spans[a][1], spans[b][1]))
            if _natural_frac(*spans[a], sym) <= _natural_frac(*joined, sym):
                classes.union([op.output, v])  # b stays the root
                spans[b] = joined
                if sym:
                    symmetric.add(b)


Encoding = tuple[int, int]
"""An int8 tensor's (exponent F, zero point Z): value = (q - Z) * 2**-F."""


def _zero_point(lo: float, hi: float, f: int, anchor: str) -> int:
    """Z that puts [lo, hi] (lo <= 0 <= hi) on the codes at exponent F: centred, or with lo
    at -128 (clipping only above), or hi at 127 (clipping only below)."""
    if anchor == "low":
        z = -128 - dnn.round_half_up(lo * 2.0**f)
    elif anchor == "high":
        z = 127 - dnn.round_half_up(hi * 2.0**f)
    else:
        z = -dnn.round_half_up((lo + hi) / 2 * 2.0**f)
    return int(min(max(z, -128), 127))


def candidate_encodings(
    classes: _UnionFind, ranges: dict[SSAValue, tuple[float, float]], symmetric: set[SSAValue]
) -> dict[SSAValue, list[Encoding]]:
    """Each value's candidates, the same list for every member of its class.

    A symmetric class: (F0 + d, 0) for d in EXPONENT_SEARCH, F0 = 7 - ceil(log2(max |x|)) of
    the class's range. Any other class: its range [lo, hi] (widened to hold 0) is centred on
    the codes, F0 = 7 - ceil(log2((hi - lo) / 2)), one more bit than symmetric codes give a
    one-sided range; for each F0 + d the centred zero point, and where the range no longer
    fits (d > 0) also the ones that keep lo or hi and clip only the other side."""
    per_root: dict[SSAValue, list[Encoding]] = {}
    for root, (lo, hi) in _spans(classes, ranges).items():
        sym = root in symmetric
        f0 = _natural_frac(lo, hi, sym)
        found: set[Encoding] = set()
        for d in EXPONENT_SEARCH:
            f = min(max(f0 + d, rules.F_MIN), rules.F_MAX)
            if sym:
                found.add((f, 0))
                continue
            for anchor in ("centre", "low", "high") if d > 0 else ("centre",):
                found.add((f, _zero_point(lo, hi, f, anchor)))
        per_root[root] = sorted(found)
    return {v: per_root[classes.find(v)] for v in classes.parent}


def choose_encodings(
    classes: _UnionFind, errors: dict[SSAValue, calib.Candidates]
) -> dict[SSAValue, Encoding]:
    """Step 4: per class, the candidate with the least total squared quantization error over
    the calibration data (saturation included); ties go to the later candidate (the larger
    F)."""
    totals: dict[SSAValue, np.ndarray] = {}
    for v, c in errors.items():
        root = classes.find(v)
        totals[root] = totals.get(root, 0) + c.sse
    chosen = {}
    for v, c in errors.items():
        total = totals[classes.find(v)]
        chosen[v] = c.encoding(len(total) - 1 - int(np.argmin(total[::-1])))
    return chosen


# --------------------------------------------------------------------- 5-6. rewrite


def _float_array(op: Operation, weights: WeightStoreLike | None) -> np.ndarray:
    if isinstance(op, dnn.ConstantOp):
        shape = dnn.shape_of(op.output)
        values = np.asarray(op.value.get_values(), np.float64)
        return np.broadcast_to(values, shape) if values.size == 1 else values.reshape(shape)
    assert isinstance(op, dnn.WeightOp)
    if weights is None or op.sym.data not in weights:
        raise UserError(f"weight '{op.sym.data}' is missing from the weight store")
    return np.asarray(weights[op.sym.data])


def _name(value: SSAValue) -> str:
    """A value's name for reports: its SSA name, else its producer."""
    owner = value.owner
    return value.name_hint or f"<{owner.name if isinstance(owner, Operation) else 'argument'}>"


@dataclass
class _Rewriter:
    """Steps 5 and 6 for one function body."""

    encodings: dict[SSAValue, Encoding]
    weights: WeightStoreLike | None
    per_channel: bool
    channel_group: int
    report: QuantReport
    float_weights: bool
    old: set[Operation] = field(default_factory=set)  # the float ops being replaced
    int8_of: dict[SSAValue, SSAValue] = field(default_factory=dict)
    requantized: dict[tuple[SSAValue, Encoding], SSAValue] = field(default_factory=dict)
    fracs: dict[SSAValue, int] = field(init=False)

    def __post_init__(self) -> None:
        self.fracs = {v: f for v, (f, _) in self.encodings.items()}

    # -- values
    def image(self, value: SSAValue, before: Operation) -> SSAValue:
        """The int8 image of a value: a new int8 result, or a quantize of a float value."""
        if value not in self.int8_of:
            q = dnn.QuantizeOp(value, *self.encodings[value])
            q.output.name_hint = f"{value.name_hint}.q" if value.name_hint else None
            Rewriter.insert_op(q, InsertPoint.before(before))
            self.int8_of[value] = q.output
        return self.int8_of[value]

    def out_type(self, value: SSAValue) -> TensorType:
        return dnn.fixed_type(dnn.shape_of(value), *self.encodings[value])

    # -- weights
    def store(self, source: Operation, array: np.ndarray, element: Attribute) -> Operation:
        """A `.q` weight (or constant) holding `array`, for the float weight op `source`."""
        ty = TensorType(element, list(array.shape))
        if isinstance(source, dnn.ConstantOp):
            new: Operation = dnn.ConstantOp(
                DenseIntOrFPElementsAttr.from_list(ty, array.ravel().tolist())
            )
        else:
            assert isinstance(source, dnn.WeightOp) and self.weights is not None
            base, n = f"{source.sym.data}.q", 0
            name = base
            while name in self.weights and not np.array_equal(self.weights[name], array):
                n += 1
                name = f"{base}{n}"
            self.weights[name] = array
            new = dnn.WeightOp(name, ty)
        hint = source.results[0].name_hint
        new.results[0].name_hint = f"{hint}.q" if hint else None
        return new

    # -- ops
    def rewrite(self, op: Operation) -> None:
        if isinstance(op, dnn.ConcatOp):
            data = [self._concat_input(v, op) for v in op.inputs]
        else:
            data = [self.image(v, op) for v in data_operands(op)]
        props = dict(op.properties)
        extra: list[Operation] = []
        operands: list[SSAValue] = data
        if isinstance(op, dnn.Conv2dOp | dnn.DenseOp):
            extra, operands = self._accumulating(op, data[0], props)
        elif isinstance(op, dnn.LayerNormOp):
            extra, operands = self._layer_norm(op, data[0], props)
        elif isinstance(op, dnn.AddOp | dnn.MulOp):
            props.update(self._eltwise(op))
        elif isinstance(op, dnn.Pool2dOp | dnn.GlobalPoolOp) and op.kind.data == dnn.PoolKind.AVG:
            window = int(np.prod(dnn.shape_of(op.input)[2:]))
            if isinstance(op, dnn.Pool2dOp):
                window = int(np.prod(dnn.ints(op.kernel)))
            mul, shift = rules.avg_params(window, *(self.fracs[v] for v in (op.input, op.output)))
            props["avg_mul"], props["avg_shift"] = IntegerAttr(mul, 64), IntegerAttr(shift, 64)
        if isinstance(op, dnn.Conv2dOp | dnn.DenseOp | dnn.AddOp) and op.act is not None:
            props["act"] = _int8_act(op.act, self.fracs[op.results[0]])
        new = type(op).create(
            operands=operands,
            result_types=[self.out_type(r) for r in op.results],
            properties={k: v for k, v in props.items() if v is not None},
            attributes=dict(op.attributes),
        )
        for old, res in zip(op.results, new.results, strict=True):
            res.name_hint = old.name_hint
            self.int8_of[old] = res
        for o in [*extra, new]:
            Rewriter.insert_op(o, InsertPoint.before(op))

    def _accumulating(
        self, op: dnn.Conv2dOp | dnn.DenseOp, x: SSAValue, props: dict[str, Attribute]
    ) -> tuple[list[Operation], list[SSAValue]]:
        """Quantized weight and bias, `shift` and (dense) alpha/beta folded; step 5."""
        fx, fy = self.fracs[op.input], self.fracs[op.output]
        w_src = op.weight.owner
        assert isinstance(w_src, Operation)
        w = _float_array(w_src, self.weights)
        if isinstance(op, dnn.DenseOp):
            axis, terms = (0 if op.trans_b is not None else 1), dnn.shape_of(op.input)[1]
            if op.alpha.value.data != 1.0:
                w = w * op.alpha.value.data
            props["alpha"] = props["beta"] = dnn.f64_attr(1.0)
        else:
            axis, terms = 0, int(np.prod(w.shape[1:]))
        if self.float_weights:
            # float weight scales s[c]: y = acc * s[c] * 2**(Fy - Fx) = acc * mul[c] >> shift
            scales = rules.weight_scales(w, axis, self.per_channel)
            per_channel = self.per_channel
            w_q, w_sat = rules.quantize_weight_by(w, 1 / scales, axis)
            acc_fracs = fx - np.log2(scales)  # the accumulator's scale 2**-Fx s[c], as exponents
            shift, muls = rules.requant_multipliers(scales * 2.0 ** (fy - fx),
                                                    dnn.REQUANT_MUL_MAX)
            fw = [round(f) for f in -np.log2(scales)]  # reported: the nearest exponents
            shifts, props["mul"] = [shift], dnn.i64_array(muls)
        else:
            fw, per_channel = rules.weight_fracs(
                w, axis, self.per_channel, fy - fx, fy - fx + dnn.SHIFT_MAX, self.channel_group
            )
            w_q, w_sat = rules.quantize_weight(w, fw, axis)
            acc_fracs = np.array([fx + f for f in fw])
            shifts = [fx + f - fy for f in fw]
        new_w = self.store(w_src, w_q, i8)
        extra, operands = [new_w], [x, new_w.results[0]]
        b_sat = 0
        if op.bias is not None:
            b_src = op.bias.owner
            assert isinstance(b_src, Operation)
            b = _float_array(b_src, self.weights)
            if isinstance(op, dnn.DenseOp) and op.beta.value.data != 1.0:
                b = b * op.beta.value.data
            b_q, b_sat = rules.quantize_bias(b, acc_fracs, terms,
                                             zero_point=self.encodings[op.input][1] != 0)
            new_b = self.store(b_src, b_q, i32)
            extra.append(new_b)
            operands.append(new_b.results[0])
        props["shift"] = dnn.i64_array(shifts if len(set(shifts)) > 1 else shifts[:1])
        self.report.layers.append(
            LayerStat(
                _name(op.output),
                op.name,
                per_channel,
                (min(fw), max(fw)),
                (min(shifts), max(shifts)),
                w_sat,
                b_sat,
            )
        )
        return extra, operands

    def _concat_input(self, value: SSAValue, concat: dnn.ConcatOp) -> SSAValue:
        """`value` in the concat's encoding: its int8 image, or where its own encoding differs
        a requantize of that (a quantize straight into the concat's encoding for a float
        value: one rounding), one per value and encoding."""
        out = self.encodings[concat.output]
        if self.encodings[value] == out:
            return self.image(value, concat)
        key = (value, out)
        if key not in self.requantized:
            new: Operation = (dnn.RequantizeOp(self.int8_of[value], *out)
                              if value.owner in self.old else dnn.QuantizeOp(value, *out))
            new.results[0].name_hint = f"{value.name_hint}.r" if value.name_hint else None
            Rewriter.insert_op(new, InsertPoint.before(concat))
            self.requantized[key] = new.results[0]
        return self.requantized[key]

    def _layer_norm(
        self, op: dnn.LayerNormOp, x: SSAValue, props: dict[str, Attribute]
    ) -> tuple[list[Operation], list[SSAValue]]:
        """The scale as i8 at one exponent Fg (the weight rule, clamped so that shift =
        LN_FRAC + Fg - Fy is in 0..63), the bias as i32 at LN_FRAC + Fg."""
        fy = self.fracs[op.output]
        g_src = op.scale.owner
        assert isinstance(g_src, Operation)
        n = int(np.prod(op.normalized_shape()))
        g = np.broadcast_to(_float_array(g_src, self.weights), op.normalized_shape()).reshape(n)
        lo = fy - nonlinear.LN_FRAC
        (fg,), _ = rules.weight_fracs(g[None, :], 0, False, lo, lo + dnn.SHIFT_MAX)
        g_q, g_sat = rules.quantize_weight(g, [fg], 0)
        new_g = self.store(g_src, g_q, i8)
        extra, operands = [new_g], [x, new_g.results[0]]
        b_sat = 0
        if op.bias is not None:
            b_src = op.bias.owner
            assert isinstance(b_src, Operation)
            b = np.broadcast_to(_float_array(b_src, self.weights), op.normalized_shape())
            b_q, b_sat = rules.quantize_bias(b.reshape(n), [nonlinear.LN_FRAC + fg], 1)
            new_b = self.store(b_src, b_q, i32)
            extra.append(new_b)
            operands.append(new_b.results[0])
        shift = nonlinear.LN_FRAC + fg - fy
        props["shift"] = IntegerAttr(shift, 64)
        self.report.layers.append(
            LayerStat(_name(op.output), op.name, False, (fg, fg), (shift, shift), g_sat, b_sat)
        )
        return extra, operands

    def _eltwise(self, op: dnn.AddOp | dnn.MulOp) -> dict[str, Attribute]:
        fa, fb, fy = (self.fracs[v] for v in (op.lhs, op.rhs, op.output))
        if isinstance(op, dnn.AddOp):
            f = max(fa, fb, fy)
            sa, sb, s = f - fa, f - fb, f - fy
        else:
            s = fa + fb - fy
            sa, sb, s = max(-s, 0), 0, min(max(s, 0), dnn.SHIFT_MAX)
        props: dict[str, Attribute] = {"shift": IntegerAttr(s, 64)}
        if sa:
            props["shift_a"] = IntegerAttr(sa, 64)
        if sb:
            props["shift_b"] = IntegerAttr(sb, 64)
        return props

    def finish(self, int8_ops: Sequence[Operation]) -> None:
        """Dequantize int8 values that float ops or the return use; erase the float ops."""
        for op in int8_ops:
            for old in op.results:
                new = self.int8_of[old]
                if all(use.operation in self.old for use in old.uses):
                    continue  # only int8 users, which are rebuilt on `new`
                deq = dnn.DequantizeOp(new, _element(old))
                deq.output.name_hint = f"{old.name_hint}.f" if old.name_hint else None
                new_op = new.owner
                assert isinstance(new_op, Operation)
                Rewriter.insert_op(deq, InsertPoint.after(new_op))
                old.replace_uses_with_if(deq.output, lambda use: use.operation not in self.old)
        sources: list[Operation] = []
        for op in reversed(int8_ops):
            if isinstance(op, dnn.Conv2dOp | dnn.DenseOp):
                sources += [v.owner for v in (op.weight, op.bias) if v is not None]  # type: ignore[misc]
            if isinstance(op, dnn.LayerNormOp):
                sources += [v.owner for v in (op.scale, op.bias) if v is not None]  # type: ignore[misc]
            Rewriter.erase_op(op)
        for src in dict.fromkeys(sources):
            if not src.results[0].uses:
                Rewriter.erase_op(src)


def _element(value: SSAValue) -> Attribute:
    ty = value.type
    assert isinstance(ty, TensorType)
    return ty.element_type


def _int8_act(act: dnn.ActivationAttr, frac_out: int) -> dnn.ActivationAttr:
    """clip(0, hi) whose act_arg would exceed 255 clamps above 127: relu after sat8."""
    if act.act_kind == dnn.ActKind.CLIP:
        if dnn.round_half_up(act.values[1] * 2.0**frac_out) > dnn.ACT_ARG_MAX:
            return dnn.ActivationAttr(dnn.ActKind.RELU)
    return act


# ---------------------------------------------------------------------------- driver


def quantize(
    module: builtin.ModuleOp,
    weights: WeightStoreLike | None,
    calibration: Sequence[dict[str, np.ndarray]] | None = None,
    *,
    seed: int = 0,
    samples: int = 4,
    per_channel: bool = True,
    channel_group: int = 1,
    zero_points: bool = True,
    float_weights: bool = True,
) -> QuantReport:
    """Quantize `@main` of `module` in place (the algorithm above); `.q` weights are added to
    `weights`. `calibration` is a list of inputs keyed by ONNX input name (default: `samples`
    seeded standard-normal inputs). `channel_group` > 1 shares per-channel weight exponents
    within aligned groups of that many output channels (see `rules.weight_fracs`);
    `zero_points` False keeps every tensor symmetric (Z = 0); `float_weights` False gives
    conv and dense weights power-of-two scales (per-channel shifts, no multipliers)."""
    fn = main_function(module)
    block = fn.body.block
    if any(dnn.is_fixed_op(op) for op in block.ops):
        raise UserError("the module is already quantized")
    if weights is None and any(isinstance(op, dnn.WeightOp) for op in block.ops):
        raise UserError(
            "dnn-quantize needs the weight store of a module with dnn.weight ops "
            "(fv-opt: --weights model.npz)"
        )
    store = {} if weights is None else weights
    split_activations(block)
    int8_ops, float_ops = select(block)
    inputs = (
        list(calibration)
        if calibration is not None
        else calib.random_inputs(module, seed, samples)
    )
    if not inputs:
        raise UserError("calibration needs at least one input sample")
    classes = exponent_classes(int8_ops)
    ranges = calib.observe_range(module, store, inputs, set(classes.parent))
    symmetric = symmetric_classes(classes, int8_ops) if zero_points else set(classes.parent)
    join_coarse_concat_inputs(classes, int8_ops, ranges, symmetric)
    errors = calib.quantization_errors(
        module, store, inputs, candidate_encodings(classes, ranges, symmetric)
    )
    encodings = choose_encodings(classes, errors)
    report = QuantReport(len(inputs))
    for v, (f, z) in encodings.items():
        c = errors[v]
        i = [c.encoding(k) for k in range(len(c.fracs))].index((f, z))
        clipped = c.clipped[i] / c.size if c.size else 0.0
        lo, hi = ranges.get(v, (0.0, 0.0))
        report.tensors.append(TensorStat(_name(v), f, max(-lo, hi), float(clipped), z, lo, hi))
    report.float_ops = [(f"{op.name} {_name(op.results[0])}", why) for op, why in float_ops]
    rewriter = _Rewriter(encodings, store, per_channel, channel_group, report, float_weights,
                         set(int8_ops))
    for op in int8_ops:
        rewriter.rewrite(op)
    rewriter.finish(int8_ops)
    return report


@dataclass(frozen=True)
class DnnQuantizePass(ModulePass):
    """Quantizes @main to int8 fixed point from calibration (docs/quantization.md).

    The weight store, calibration inputs (default: `samples` seeded random inputs from `seed`)
    and target come from the context; `per-channel` weight exponents, shared by
    `channel-group` output channels (default: the target core's OCP)."""

    name = "dnn-quantize"

    seed: int = 0
    samples: int = 4
    per_channel: bool = True
    channel_group: int | None = None
    zero_points: bool = True
    float_weights: bool = True

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        samples = context.calibration(ctx)
        if samples is not None and any(isinstance(s, str) for s in samples):
            samples = calib.load_calibration(list(samples), op)  # type: ignore[arg-type]
        group = self.channel_group or context.target(ctx).core.ocp
        quantize(op, context.weights(ctx), samples, seed=self.seed, samples=self.samples,
                 per_channel=self.per_channel, channel_group=group,
                 zero_points=self.zero_points, float_weights=self.float_weights)
