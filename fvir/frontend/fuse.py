"""Fuse the decompositions exporters emit for LayerNorm and GELU back into one ONNX node.

Before opset 17 (LayerNormalization) and 20 (Gelu), PyTorch exports `nn.LayerNorm` and
`nn.GELU` as chains of elementwise ops and reductions; imported node by node they would be
host ops and lose their int8 forms. This rewrite runs on the graph before the importer's walk
and replaces each whole chain by the fused node (which only fvir's translators read, so the
graph's opset does not need to define it):

- LayerNorm: m = ReduceMean(x); d = Sub(x, m); p = Pow(d, 2) or Mul(d, d);
  v = ReduceMean(p); s = Sqrt(Add(v, eps)); n = Div(d, s); then optionally Mul(n, scale) and
  Add(., bias), scale and bias initializers. Both reductions over the same trailing axes
  (negative), keepdims 1.
- GELU: Mul(x, Add(Erf(Div(x, sqrt 2)), 1)) * 0.5, or Mul(Mul(x, 0.5), Add(Erf(..), 1)),
  with Mul(x, 1/sqrt 2) accepted for the Div.
- Attention's scale: Div(MatMul(a, b), c) or Mul(.., c) by a scalar constant, where `a`
  comes through Reshape/Transpose from a projection Add(MatMul(x, W), bias) with initializers
  W and bias: the scale moves into new initializers W * f, bias * f and the Div disappears (an
  int8 tensor has no scalar multiply; folded into the weights it is free).
- A projection over all positions, Add(MatMul(x, W), b) with W [K, N] and b [N]
  initializers, becomes Flatten(x, -1), Gemm(., W, b) and a Reshape back to x's leading dims
  and N (from Shape/Slice/Concat, which the importer folds): one dense with its bias.

Algorithm:
1. Index producers, consumers and the small constants (initializers kept in the skeleton,
   Constant nodes).
2. For every Div (LayerNorm) and Erf (GELU) node, walk the chain around it, requiring each
   inner value to have exactly the consumers of the pattern and not to be a graph output.
3. Replace the matched nodes by the fused node at the position of the chain's last node.
4. Then fold every attention scale (one pass: each fold removes its Div or Mul), then turn
   the projections into Gemms.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import helper, numpy_helper


class _Graph:
    """Producers, consumers and small constants of one graph."""

    def __init__(self, graph: onnx.GraphProto, big: dict[str, onnx.TensorProto]):
        self.nodes = list(graph.node)  # one wrapper per node, so identities are stable
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in self.nodes:
            for out in node.output:
                self.producer[out] = node
            for name in set(node.input):
                self.consumers.setdefault(name, []).append(node)
        self.outputs = {o.name for o in graph.output}
        self.initializers = {t.name for t in graph.initializer} | set(big)
        self.tensors = {t.name: t for t in graph.initializer}
        self.small: dict[str, np.ndarray | None] = {}

    def const(self, name: str) -> np.ndarray | None:
        if name in self.tensors:
            if name not in self.small:
                try:
                    self.small[name] = numpy_helper.to_array(self.tensors[name])
                except (ValueError, TypeError):  # malformed: the importer reports it
                    self.small[name] = None
            return self.small[name]
        node = self.producer.get(name)
        if node is not None and node.op_type == "Constant" and node.attribute[0].name == "value":
            return numpy_helper.to_array(node.attribute[0].t)
        return None

    def scalar_is(self, name: str, value: float, rel: float = 1e-4) -> bool:
        c = self.const(name)
        return c is not None and c.size == 1 and math.isclose(float(c), value, rel_tol=rel)

    def only(self, name: str, op_type: str) -> onnx.NodeProto | None:
        """The single consumer of `name` if it is an `op_type` node and `name` is internal."""
        users = self.consumers.get(name, [])
        if name in self.outputs or len(users) != 1 or users[0].op_type != op_type:
            return None
        return users[0]

    def made_by(self, name: str, op_type: str) -> onnx.NodeProto | None:
        node = self.producer.get(name)
        return node if node is not None and node.op_type == op_type else None


def _other(node: onnx.NodeProto, name: str) -> str:
    """The other input of a binary node (`name` may be either)."""
    a, b = node.input
    return b if a == name else a


def _reduce_axes(g: _Graph, node: onnx.NodeProto) -> tuple[int, ...] | None:
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("keepdims", 1) != 1:
        return None
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1:
        c = g.const(node.input[1])
        axes = None if c is None else c.tolist()
    if not axes or any(a >= 0 for a in axes):
        return None
    return tuple(sorted(axes))


Match = tuple[list[onnx.NodeProto], onnx.NodeProto]
"""The nodes of a matched chain and the fused node that replaces them."""


def _layer_norm(g: _Graph, div: onnx.NodeProto) -> Match | None:
    d, s = div.input
    sqrt, sub = g.made_by(s, "Sqrt"), g.made_by(d, "Sub")
    if sqrt is None or sub is None or g.only(s, "Div") is None:
        return None
    add = g.made_by(sqrt.input[0], "Add")
    if add is None or g.only(add.output[0], "Sqrt") is None:
        return None
    v = next((i for i in add.input if g.made_by(i, "ReduceMean")), None)
    if v is None or g.const(_other(add, v)) is None or g.only(v, "Add") is None:
        return None
    eps = float(g.const(_other(add, v)).reshape(()))  # type: ignore[union-attr]
    var_mean = g.made_by(v, "ReduceMean")
    assert var_mean is not None
    sq = g.producer.get(var_mean.input[0])
    if sq is None or g.only(sq.output[0], "ReduceMean") is None:
        return None
    if not (
        (sq.op_type == "Pow" and sq.input[0] == d and g.scalar_is(sq.input[1], 2.0))
        or (sq.op_type == "Mul" and list(sq.input) == [d, d])
    ):
        return None
    x, m = sub.input
    mean = g.made_by(m, "ReduceMean")
    if mean is None or mean.input[0] != x or g.only(m, "Sub") is None:
        return None
    if d in g.outputs or {id(n) for n in g.consumers[d]} != {id(sq), id(div)}:
        return None
    axes = _reduce_axes(g, mean)
    if axes is None or axes != _reduce_axes(g, var_mean) or axes != tuple(range(axes[0], 0)):
        return None
    chain = [mean, sub, sq, var_mean, add, sqrt, div]
    out, scale, bias = div.output[0], "", ""
    if (mul := g.only(out, "Mul")) is not None and _other(mul, out) in g.initializers:
        chain.append(mul)
        out, scale = mul.output[0], _other(mul, out)
        if (badd := g.only(out, "Add")) is not None and _other(badd, out) in g.initializers:
            chain.append(badd)
            out, bias = badd.output[0], _other(badd, out)
    if not scale:
        return None  # LayerNormalization needs a scale; exporters always emit one
    inputs = [x, scale] + ([bias] if bias else [])
    fused = helper.make_node(
        "LayerNormalization", inputs, [out], name=div.name or out, axis=axes[0], epsilon=eps
    )
    return chain, fused


def _gelu(g: _Graph, erf: onnx.NodeProto) -> Match | None:
    scale = g.producer.get(erf.input[0])
    if scale is None or g.only(scale.output[0], "Erf") is None:
        return None
    if scale.op_type == "Div" and g.scalar_is(scale.input[1], math.sqrt(2)):
        x = scale.input[0]
    elif scale.op_type == "Mul" and any(g.scalar_is(i, 1 / math.sqrt(2)) for i in scale.input):
        x = next(i for i in scale.input if not g.scalar_is(i, 1 / math.sqrt(2)))
    else:
        return None
    add = g.only(erf.output[0], "Add")
    if add is None or not g.scalar_is(_other(add, erf.output[0]), 1.0):
        return None
    mul = g.only(add.output[0], "Mul")
    if mul is None:
        return None
    first = _other(mul, add.output[0])
    if first == x:  # x * (1 + erf) * 0.5
        half = g.only(mul.output[0], "Mul")
        if half is None or not g.scalar_is(_other(half, mul.output[0]), 0.5):
            return None
        chain, out = [scale, erf, add, mul, half], half.output[0]
    else:  # (x * 0.5) * (1 + erf)
        half = g.made_by(first, "Mul")
        if half is None or g.only(first, "Mul") is None or x not in half.input:
            return None
        if not g.scalar_is(_other(half, x), 0.5):
            return None
        chain, out = [half, scale, erf, add, mul], mul.output[0]
    return chain, helper.make_node("Gelu", [x], [out], name=erf.name or out)


_THROUGH = ("Reshape", "Transpose")


def _projection(g: _Graph, name: str) -> tuple[onnx.NodeProto, onnx.NodeProto] | None:
    """The (MatMul, Add) of a projection that `name` comes from through Reshape/Transpose,
    every value on the way used once; None if there is none."""
    while (node := g.producer.get(name)) is not None and node.op_type in _THROUGH:
        if name in g.outputs or len(g.consumers.get(name, [])) != 1:
            return None
        name = node.input[0]
    if node is None or node.op_type != "Add" or len(g.consumers.get(name, [])) != 1:
        return None
    mm = next((g.made_by(i, "MatMul") for i in node.input if g.made_by(i, "MatMul")), None)
    if mm is None or g.only(mm.output[0], "Add") is None or name in g.outputs:
        return None
    if mm.input[1] not in g.initializers or _other(node, mm.output[0]) not in g.initializers:
        return None
    if any(len(g.consumers[w]) != 1 for w in (mm.input[1], _other(node, mm.output[0]))):
        return None
    weights = (mm.input[1], _other(node, mm.output[0]))
    if any(w in g.tensors and g.const(w) is None for w in weights):
        return None  # a malformed initializer: left to the importer, which reports it
    return mm, node


def _scaled(
    graph: onnx.GraphProto, big: dict[str, onnx.TensorProto], name: str, factor: float
) -> str:
    """A new initializer holding initializer `name` times `factor` (in its own precision)."""
    small = {t.name: t for t in graph.initializer}
    src = big[name] if name in big else small[name]
    array = numpy_helper.to_array(src)
    scaled = (array * np.asarray(factor, array.dtype)).astype(array.dtype)
    new = f"{name}.scaled"
    while new in small or new in big:
        new += "_"
    tensor = numpy_helper.from_array(scaled, new)
    if name in big:
        big[new] = tensor
    else:
        graph.initializer.append(tensor)
    return new


def _fold_scales(graph: onnx.GraphProto, big: dict[str, onnx.TensorProto]) -> None:
    g = _Graph(graph, big)
    dropped: list[onnx.NodeProto] = []
    for node in g.nodes:
        if node.op_type not in ("Div", "Mul") or len(node.input) != 2:
            continue
        s, c = node.input
        value = g.const(c)
        mm = g.made_by(s, "MatMul")
        if value is None or value.size != 1 or mm is None or node.output[0] in g.outputs:
            continue
        if g.only(s, node.op_type) is None or any(i in g.initializers for i in mm.input):
            continue
        scalar = float(value.reshape(()))
        if scalar == 0:
            continue
        factor = 1 / scalar if node.op_type == "Div" else scalar
        proj = _projection(g, mm.input[0]) or _projection(g, mm.input[1])
        if proj is None or not np.isfinite(factor):
            continue
        w_mm, add = proj
        bias = _other(add, w_mm.output[0])
        w_mm.input[1] = _scaled(graph, big, w_mm.input[1], factor)
        add.input[list(add.input).index(bias)] = _scaled(graph, big, bias, factor)
        for user in g.consumers.get(node.output[0], []):
            for i, name in enumerate(user.input):
                if name == node.output[0]:
                    user.input[i] = s
        dropped.append(node)
    if dropped:
        ids = {id(n) for n in dropped}
        kept = [n for n in g.nodes if id(n) not in ids]
        del graph.node[:]
        graph.node.extend(kept)


def fuse_decompositions(graph: onnx.GraphProto, big: dict[str, onnx.TensorProto]) -> None:
    """Rewrite `graph` in place: LayerNorm and GELU chains become one node each, attention
    scales move into the projection weights."""
    _fuse_chains(graph, big)
    _fold_scales(graph, big)
    _projections_to_gemm(graph, big)


def _dims(graph: onnx.GraphProto, big: dict[str, onnx.TensorProto], name: str) -> list[int]:
    """The dims of initializer `name`; [] if it is none."""
    t = big.get(name) or next((t for t in graph.initializer if t.name == name), None)
    return [] if t is None else list(t.dims)


def _projections_to_gemm(graph: onnx.GraphProto, big: dict[str, onnx.TensorProto]) -> None:
    g = _Graph(graph, big)
    out: list[onnx.NodeProto] = []
    for node in g.nodes:
        mm = next((g.made_by(i, "MatMul") for i in node.input if g.made_by(i, "MatMul")), None)
        if node.op_type != "Add" or mm is None:
            out.append(node)
            continue
        x, w = mm.input
        bias = _other(node, mm.output[0])
        w_dims, b_dims = _dims(graph, big, w), _dims(graph, big, bias)
        if (
            x in g.initializers
            or len(w_dims) != 2
            or b_dims != w_dims[1:]
            or g.only(mm.output[0], "Add") is None
        ):
            out.append(node)
            continue
        y = node.output[0]
        parts = ("rows", "gemm", "shape", "lead", "starts", "ends", "n", "target")
        rows, gemm, shape, lead, starts, ends, n, target = (f"{y}.{p}" for p in parts)
        consts = {starts: [0], ends: [-1], n: [w_dims[1]]}
        for name, value in consts.items():
            graph.initializer.append(numpy_helper.from_array(np.array(value, np.int64), name))
        out = [o for o in out if o is not mm]
        out += [
            helper.make_node("Flatten", [x], [rows], axis=-1),
            helper.make_node("Gemm", [rows, w, bias], [gemm], name=mm.name or y),
            helper.make_node("Shape", [x], [shape]),
            helper.make_node("Slice", [shape, starts, ends], [lead]),
            helper.make_node("Concat", [lead, n], [target], axis=0),
            helper.make_node("Reshape", [gemm, target], [y], name=node.name or y),
        ]
    del graph.node[:]
    graph.node.extend(out)


def _fuse_chains(graph: onnx.GraphProto, big: dict[str, onnx.TensorProto]) -> None:
    while True:
        g = _Graph(graph, big)
        for node in g.nodes:
            found = (
                _layer_norm(g, node) if node.op_type == "Div" and len(node.input) == 2
                else _gelu(g, node) if node.op_type == "Erf"
                else None
            )
            if found is not None:
                break
        else:
            return
        chain, fused = found
        ids = {id(n) for n in chain}
        nodes = g.nodes
        last = max(i for i, n in enumerate(nodes) if id(n) in ids)
        kept = [n for i, n in enumerate(nodes) if id(n) not in ids or i == last]
        kept[kept.index(nodes[last])] = fused
        del graph.node[:]
        graph.node.extend(kept)
