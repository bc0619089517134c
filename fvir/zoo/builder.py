"""A tiny ONNX graph builder for the model zoo.

`GraphBuilder` appends nodes and seeded initializers with unique names, tracks every tensor's
static shape (batch 1, so layers can ask for their input's channel count), and counts the
trainable parameters and multiply-accumulates as it goes. The weights follow the usual
initialisations so random-weight models keep their activations O(1) through the depth:

- Conv / Gemm weights: He-normal, std = sqrt(2 / fan_in) (Kaiming, ReLU gain); biases uniform
  in +-1/sqrt(fan_in) (PyTorch's default bias init).
- BatchNormalization: scale ~ 1 +- 0.05 and bias ~ 0 +- 0.05 (normal), with the running mean
  and variance *measured*: the builder pushes a seeded standard-normal probe input through the
  layers built so far (`fvir.zoo.probe`, numpy) and stores the per-channel statistics of the
  BN's input, so every BN normalises as a trained one does. Fixed statistics (mean 0, var 1)
  do not: the residual stream then roughly doubles per block and ResNet-50's logits end with
  a std of ~1e3; calibrated, every zoo CNN's activations stay within a std of ~0.5..5.
- LSTM / GRU: every weight and bias uniform in +-1/sqrt(hidden) (PyTorch's default).

Graphs use opset 17 (BatchNormalization-15, Clip-13 with min/max initializers, LSTM/GRU-14)
and IR version 8 (onnxruntime 1.13 or later).

With `materialize=False` no weights are drawn: the builder only counts parameters and MACs,
which is how `fv zoo list` describes 138M-parameter VGG-16 without allocating it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper

from fvir.zoo import probe

OPSET = 17
IR_VERSION = 8

Dims = tuple[int, ...]
IntOrPair = int | tuple[int, int]


def _pair(v: IntOrPair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _window(size: int, k: int, stride: int, pad_lo: int, pad_hi: int, ceil: bool) -> int:
    """Output extent of an ONNX Conv/Pool window (ceil_mode drops a window starting in pads)."""
    span = size + pad_lo + pad_hi - k
    if not ceil:
        return span // stride + 1
    out = -(-span // stride) + 1
    return out - 1 if (out - 1) * stride >= size + pad_lo else out


class GraphBuilder:
    """Appends ONNX nodes and seeded initializers; every layer method returns its output name.

    Names are unique: a layer given `name="conv1"` produces tensor `conv1` and weights
    `conv1.weight`, `conv1.bias`; unnamed layers get `<op>_<n>`. Reusing a name is a bug in the
    model definition and raises `ValueError`.
    """

    def __init__(self, name: str, seed: int = 0, *, materialize: bool = True) -> None:
        self.name = name
        self.materialize = materialize
        self.rng = np.random.default_rng(seed)
        # The graph lives inside the model from the start, so `finish` copies no weights.
        self.model = onnx.ModelProto(ir_version=IR_VERSION, producer_name="fvir.zoo")
        self.model.opset_import.add(domain="", version=OPSET)
        self.graph = self.model.graph
        self.graph.name = name
        self.shapes: dict[str, Dims] = {}
        self.params = 0  # trainable parameters (BatchNorm running statistics excluded)
        self.macs = 0  # multiply-accumulates of Conv, Gemm, LSTM and GRU
        self._counters: dict[str, int] = {}
        self._consts: dict[str, str] = {}
        self._buf = np.empty(0, np.float32)
        # For BatchNorm calibration: each node's (op, inputs, attrs), initializers, probe values.
        self._producers: dict[str, tuple[str, list[str], dict[str, object]]] = {}
        self._tensors: dict[str, TensorProto] = {}
        self._values: dict[str, np.ndarray] = {}
        self._probe_rng = np.random.default_rng([seed, 1])  # independent of the weights' stream

    # -------------------------------------------------------------------------- plumbing

    def _fresh(self, op: str, name: str | None) -> str:
        if name is None:
            while True:
                n = self._counters.get(op, 0)
                self._counters[op] = n + 1
                name = f"{op.lower()}_{n}"
                if name not in self.shapes:
                    break
        if name in self.shapes:
            raise ValueError(f"duplicate tensor name '{name}' in {self.name}")
        return name

    def _node(self, op: str, inputs: Sequence[str], out: str, shape: Dims, **attrs: object) -> str:
        self.graph.node.append(helper.make_node(op, list(inputs), [out], name=out, **attrs))
        self.shapes[out] = shape
        self._producers[out] = (op, list(inputs), attrs)
        return out

    def _init(
        self, name: str, shape: Dims, make: Callable[[], np.ndarray], *, trainable: bool = True
    ) -> str:
        """Add initializer `name`; `make` draws its values (skipped when not materializing)."""
        if name in self.shapes:
            raise ValueError(f"duplicate tensor name '{name}' in {self.name}")
        self.shapes[name] = shape
        if trainable:
            self.params += math.prod(shape)
        if self.materialize:
            arr = make()
            assert arr.shape == shape, (name, arr.shape, shape)
            t = self.graph.initializer.add()
            t.name = name
            t.data_type = helper.np_dtype_to_tensor_dtype(arr.dtype)
            t.dims.extend(shape)
            t.raw_data = arr.tobytes()  # little-endian on every platform onnxruntime runs on
            self._tensors[name] = t
        return name

    def _scratch(self, shape: Dims) -> np.ndarray:
        """A reused float32 buffer for drawing weights: fresh 400 MB arrays cost more in page
        faults than the random numbers themselves (VGG-16's fc6)."""
        n = math.prod(shape)
        if self._buf.size < n:
            self._buf = np.empty(n, np.float32)
        return self._buf[:n].reshape(shape)

    def _normal(self, name: str, shape: Dims, std: float) -> str:
        def make() -> np.ndarray:
            w = self._scratch(shape)
            self.rng.standard_normal(dtype=np.float32, out=w)
            w *= np.float32(std)
            return w

        return self._init(name, shape, make)

    def _uniform(self, name: str, shape: Dims, bound: float) -> str:
        def make() -> np.ndarray:
            w = self._scratch(shape)
            self.rng.random(dtype=np.float32, out=w)  # [0, 1)
            w *= np.float32(2 * bound)
            w -= np.float32(bound)
            return w

        return self._init(name, shape, make)

    def const(self, values: Sequence[float] | Sequence[int] | float, dtype: type) -> str:
        """A shared constant initializer (Clip bounds, Reshape shapes), not a parameter."""
        arr = np.asarray(values, dtype=dtype)
        key = f"{arr.dtype}:{arr.shape}:{arr.tolist()}"
        if key not in self._consts:
            name = self._fresh("const", None)
            self._consts[key] = self._init(name, arr.shape, lambda: arr, trainable=False)
        return self._consts[key]

    def shape(self, x: str) -> Dims:
        return self.shapes[x]

    def value(self, x: str) -> np.ndarray:
        """Tensor `x` evaluated in numpy on the builder's seeded probe input (a standard-normal
        sample of each graph input), for calibration; only the ops of `fvir.zoo.probe`."""
        if x not in self._values:
            if x in self._tensors:
                t = self._tensors[x]
                dtype = helper.tensor_dtype_to_np_dtype(t.data_type)
                v = np.frombuffer(t.raw_data, dtype).reshape(tuple(t.dims))
            elif x in self._producers:
                op, inputs, attrs = self._producers[x]
                v = probe.OPS[op](attrs, *(self.value(i) for i in inputs)).astype(np.float32)
            else:  # a graph input
                v = self._probe_rng.standard_normal(self.shapes[x], dtype=np.float32)
            self._values[x] = v
        return self._values[x]

    # ---------------------------------------------------------------------------- layers

    def input(self, name: str, shape: Sequence[int]) -> str:
        self.shapes[self._fresh("input", name)] = tuple(shape)
        return name

    def conv(
        self,
        x: str,
        out_ch: int,
        k: IntOrPair,
        stride: IntOrPair = 1,
        pad: IntOrPair = 0,
        groups: int = 1,
        *,
        bias: bool = True,
        name: str | None = None,
    ) -> str:
        """2-D convolution (NCHW, OIHW weights, symmetric padding)."""
        n, c, h, w = self.shapes[x]
        (kh, kw), (sh, sw), (ph, pw) = _pair(k), _pair(stride), _pair(pad)
        assert c % groups == 0 and out_ch % groups == 0, (x, c, out_ch, groups)
        out = self._fresh("Conv", name)
        fan_in = c // groups * kh * kw
        inputs = [
            x,
            self._normal(f"{out}.weight", (out_ch, c // groups, kh, kw), (2 / fan_in) ** 0.5),
        ]
        if bias:
            inputs.append(self._uniform(f"{out}.bias", (out_ch,), fan_in**-0.5))
        shape = (n, out_ch, _window(h, kh, sh, ph, ph, False), _window(w, kw, sw, pw, pw, False))
        self.macs += math.prod(shape) * fan_in
        return self._node(
            "Conv",
            inputs,
            out,
            shape,
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=[ph, pw, ph, pw],
            group=groups,
        )

    def conv_transpose(
        self, x: str, out_ch: int, k: int, stride: int, *, name: str | None = None
    ) -> str:
        """Transposed 2-D convolution (an up-convolution: no padding, IOHW weights, bias)."""
        n, c, h, w = self.shapes[x]
        out = self._fresh("ConvTranspose", name)
        fan_in = c * k * k // (stride * stride)  # inputs that reach each output pixel
        weight = self._normal(f"{out}.weight", (c, out_ch, k, k), (2 / fan_in) ** 0.5)
        bias = self._uniform(f"{out}.bias", (out_ch,), fan_in**-0.5)
        shape = (n, out_ch, (h - 1) * stride + k, (w - 1) * stride + k)
        self.macs += n * c * h * w * out_ch * k * k
        return self._node("ConvTranspose", [x, weight, bias], out, shape, kernel_shape=[k, k],
                          strides=[stride, stride])

    def bn(self, x: str, *, name: str | None = None, eps: float = 1e-5) -> str:
        """Inference BatchNormalization: scale ~ 1 +- 0.05, bias ~ 0 +- 0.05, and the running
        mean / variance of `x` measured on the probe input (see `fvir.zoo.probe`), so each BN
        normalises its input as a trained one does."""
        c = self.shapes[x][1]
        out = self._fresh("BatchNormalization", name)
        rng = self.rng

        def near(center: float) -> Callable[[], np.ndarray]:
            def make() -> np.ndarray:
                v = rng.standard_normal((c,), dtype=np.float32)
                v *= np.float32(0.05)
                v += np.float32(center)
                return v

            return make

        def stat(kind: str) -> Callable[[], np.ndarray]:
            def make() -> np.ndarray:
                v = self.value(x)
                axes = tuple(i for i in range(v.ndim) if i != 1)
                s = v.mean(axes) if kind == "mean" else np.maximum(v.var(axes), 1e-3)
                # Rounded to float16 precision, so BLAS rounding differences between machines
                # do not change the model's bytes.
                return s.astype(np.float16).astype(np.float32)

            return make

        inputs = [
            x,
            self._init(f"{out}.weight", (c,), near(1.0)),
            self._init(f"{out}.bias", (c,), near(0.0)),
            self._init(f"{out}.running_mean", (c,), stat("mean"), trainable=False),
            self._init(f"{out}.running_var", (c,), stat("var"), trainable=False),
        ]
        return self._node("BatchNormalization", inputs, out, self.shapes[x], epsilon=eps)

    def relu(self, x: str, *, name: str | None = None) -> str:
        return self._node("Relu", [x], self._fresh("Relu", name), self.shapes[x])

    def relu6(self, x: str, *, name: str | None = None) -> str:
        """ReLU6 as ONNX Clip(x, 0, 6) with shared scalar min/max initializers."""
        lo, hi = self.const(0.0, np.float32), self.const(6.0, np.float32)
        return self._node("Clip", [x, lo, hi], self._fresh("Clip", name), self.shapes[x])

    def hardswish(self, x: str, *, name: str | None = None) -> str:
        """x * relu6(x + 3) / 6, one HardSwish node (opset 14), as PyTorch exports it."""
        return self._node("HardSwish", [x], self._fresh("HardSwish", name), self.shapes[x])

    def hardsigmoid(self, x: str, *, name: str | None = None) -> str:
        """relu6(x + 3) / 6: HardSigmoid with PyTorch's slope 1/6 (ONNX's default is 0.2)."""
        return self._node("HardSigmoid", [x], self._fresh("HardSigmoid", name), self.shapes[x],
                          alpha=1 / 6, beta=0.5)

    def sigmoid(self, x: str, *, name: str | None = None) -> str:
        return self._node("Sigmoid", [x], self._fresh("Sigmoid", name), self.shapes[x])

    def silu(self, x: str, *, name: str | None = None) -> str:
        """x * sigmoid(x) as PyTorch exports nn.SiLU (a Sigmoid and a Mul)."""
        out = self._fresh("SiLU", name)
        s = self._node("Sigmoid", [x], f"{out}.sigmoid", self.shapes[x])
        return self._node("Mul", [x, s], out, self.shapes[x])

    def mul_param(self, x: str, shape: Dims, value: float, *, name: str | None = None) -> str:
        """x times a learned tensor of `shape` (broadcast), drawn near `value` (+-10 %):
        ConvNeXt's layer scale."""
        out = self._fresh("Mul", name)
        p = self._init(f"{out}.weight", shape, lambda: value * (
            1 + 0.1 * self.rng.standard_normal(shape, np.float32)))
        return self._node("Mul", [x, p], out, self.shapes[x])

    def squeeze_excitation(self, x: str, squeeze: int, act: Callable[[str], str],
                           gate: Callable[[str], str], *, name: str) -> str:
        """x times a per-channel gate (Hu et al.'s squeeze-excitation, as torchvision's
        SqueezeExcitation): global average pool, 1x1 conv with bias to `squeeze` channels,
        `act`, 1x1 conv with bias back, `gate` (a builder method each)."""
        s = self.global_avgpool(x, name=f"{name}.avgpool")
        s = act(self.conv(s, squeeze, 1, name=f"{name}.fc1"))
        s = gate(self.conv(s, self.shapes[x][1], 1, name=f"{name}.fc2"))
        return self.scale_channels(x, s, name=f"{name}.scale")

    def scale_channels(self, x: str, s: str, *, name: str | None = None) -> str:
        """x [N, C, H, W] times a per-channel s [N, C, 1, 1] (a squeeze-excitation gate)."""
        return self._node("Mul", [x, s], self._fresh("Mul", name), self.shapes[x])

    def _pool(
        self,
        op: str,
        x: str,
        k: IntOrPair,
        stride: IntOrPair | None,
        pad: IntOrPair,
        ceil_mode: bool,
        name: str | None,
        **attrs: object,
    ) -> str:
        n, c, h, w = self.shapes[x]
        (kh, kw), (ph, pw) = _pair(k), _pair(pad)
        sh, sw = _pair(k if stride is None else stride)
        shape = (n, c, _window(h, kh, sh, ph, ph, ceil_mode), _window(w, kw, sw, pw, pw, ceil_mode))
        if ceil_mode:
            attrs["ceil_mode"] = 1
        return self._node(
            op,
            [x],
            self._fresh(op, name),
            shape,
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=[ph, pw, ph, pw],
            **attrs,
        )

    def maxpool(
        self,
        x: str,
        k: IntOrPair,
        stride: IntOrPair | None = None,
        pad: IntOrPair = 0,
        *,
        ceil_mode: bool = False,
        name: str | None = None,
    ) -> str:
        return self._pool("MaxPool", x, k, stride, pad, ceil_mode, name)

    def avgpool(
        self,
        x: str,
        k: IntOrPair,
        stride: IntOrPair | None = None,
        pad: IntOrPair = 0,
        *,
        name: str | None = None,
    ) -> str:
        """Average pooling; padded cells do not count (ONNX count_include_pad=0)."""
        return self._pool("AveragePool", x, k, stride, pad, False, name)

    def global_avgpool(self, x: str, *, name: str | None = None) -> str:
        n, c = self.shapes[x][:2]
        return self._node(
            "GlobalAveragePool", [x], self._fresh("GlobalAveragePool", name), (n, c, 1, 1)
        )

    def lrn(
        self,
        x: str,
        size: int = 5,
        alpha: float = 1e-4,
        beta: float = 0.75,
        bias: float = 1.0,
        *,
        name: str | None = None,
    ) -> str:
        """Local response normalisation across channels (AlexNet/GoogLeNet; a host op in fvir)."""
        return self._node(
            "LRN",
            [x],
            self._fresh("LRN", name),
            self.shapes[x],
            size=size,
            alpha=alpha,
            beta=beta,
            bias=bias,
        )

    def gemm(self, x: str, out_features: int, *, bias: bool = True, name: str | None = None) -> str:
        """Fully connected layer: Gemm(x, W^T, b) with W [out, in] as PyTorch stores it."""
        n, fan_in = self.shapes[x]
        out = self._fresh("Gemm", name)
        inputs = [x, self._normal(f"{out}.weight", (out_features, fan_in), (2 / fan_in) ** 0.5)]
        if bias:
            inputs.append(self._uniform(f"{out}.bias", (out_features,), fan_in**-0.5))
        self.macs += n * out_features * fan_in
        return self._node("Gemm", inputs, out, (n, out_features), transB=1)

    def add(self, a: str, b: str, *, name: str | None = None) -> str:
        assert self.shapes[a] == self.shapes[b], (a, b)
        return self._node("Add", [a, b], self._fresh("Add", name), self.shapes[a])

    def concat(self, xs: Sequence[str], axis: int = 1, *, name: str | None = None) -> str:
        shapes = [self.shapes[x] for x in xs]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        return self._node("Concat", xs, self._fresh("Concat", name), tuple(shape), axis=axis)

    def flatten(self, x: str, axis: int = 1, *, name: str | None = None) -> str:
        s = self.shapes[x]
        shape = (math.prod(s[:axis]), math.prod(s[axis:]))
        return self._node("Flatten", [x], self._fresh("Flatten", name), shape, axis=axis)

    def reshape(self, x: str, shape: Sequence[int], *, name: str | None = None) -> str:
        shape = tuple(shape)
        assert math.prod(shape) == math.prod(self.shapes[x]), (x, shape)
        target = self.const(shape, np.int64)
        return self._node("Reshape", [x, target], self._fresh("Reshape", name), shape)

    def transpose(self, x: str, perm: Sequence[int], *, name: str | None = None) -> str:
        s = self.shapes[x]
        shape = tuple(s[p] for p in perm)
        return self._node("Transpose", [x], self._fresh("Transpose", name), shape, perm=list(perm))

    # ----------------------------------------------------------------- transformer layers

    def linear(self, x: str, out_features: int, *, name: str | None = None) -> str:
        """A projection over all positions as PyTorch exports nn.Linear on [..., K]:
        MatMul(x, W^T) with W^T [K, N] stored transposed, then Add of the bias."""
        *lead, fan_in = self.shapes[x]
        out = self._fresh("Linear", name)
        w = self._normal(f"{out}.weight", (fan_in, out_features), (1 / fan_in) ** 0.5)
        b = self._uniform(f"{out}.bias", (out_features,), fan_in**-0.5)
        self.macs += math.prod(lead) * out_features * fan_in
        shape = (*lead, out_features)
        y = self._node("MatMul", [x, w], f"{out}.mm", shape)
        return self._node("Add", [y, b], out, shape)

    def embedding(self, name: str, shape: Sequence[int]) -> str:
        """A learned tensor (position embeddings), standard deviation 0.02 as in ViT and BERT."""
        return self._normal(name, tuple(shape), 0.02)

    def token_mean(self, x: str, *, name: str | None = None) -> str:
        """[1, S, D] -> [1, D]: the mean over tokens (ReduceMean over axis 1, keepdims 0)."""
        n, _, d = self.shapes[x]
        return self._node("ReduceMean", [x], self._fresh("ReduceMean", name), (n, d), axes=[1],
                          keepdims=0)

    def matmul(self, a: str, b: str, *, name: str | None = None) -> str:
        """MatMul of two activations [..., M, K] @ [..., K, N] (same batch dims)."""
        *lead, m, k = self.shapes[a]
        n = self.shapes[b][-1]
        self.macs += math.prod(lead) * m * n * k
        return self._node("MatMul", [a, b], self._fresh("MatMul", name), (*lead, m, n))

    def scale(self, x: str, divisor: float, *, name: str | None = None) -> str:
        """Div by a scalar constant (attention's 1/sqrt(d))."""
        c = self.const(divisor, np.float32)
        return self._node("Div", [x, c], self._fresh("Div", name), self.shapes[x])

    def softmax(self, x: str, axis: int = -1, *, name: str | None = None) -> str:
        return self._node("Softmax", [x], self._fresh("Softmax", name), self.shapes[x], axis=axis)

    def layer_norm(
        self, x: str, *, decomposed: bool = False, eps: float = 1e-5, name: str | None = None
    ) -> str:
        """LayerNorm over the last axis: one LayerNormalization node (opset 17), or the chain
        PyTorch exports before opset 17 (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div,
        Mul, Add). Scale near 1, bias near 0."""
        shape, dim = self.shapes[x], self.shapes[x][-1]
        out = self._fresh("LayerNorm", name)
        g = self._init(
            f"{out}.weight", (dim,), lambda: 1 + 0.1 * self.rng.standard_normal(dim, np.float32)
        )
        b = self._init(
            f"{out}.bias", (dim,), lambda: 0.1 * self.rng.standard_normal(dim, np.float32)
        )
        if not decomposed:
            return self._node("LayerNormalization", [x, g, b], out, shape, axis=-1, epsilon=eps)
        red = (*shape[:-1], 1)
        m = self._node("ReduceMean", [x], f"{out}.mean", red, axes=[-1])
        d = self._node("Sub", [x, m], f"{out}.sub", shape)
        p = self._node("Pow", [d, self.const(2.0, np.float32)], f"{out}.pow", shape)
        v = self._node("ReduceMean", [p], f"{out}.var", red, axes=[-1])
        ve = self._node("Add", [v, self.const(eps, np.float32)], f"{out}.add_eps", red)
        s = self._node("Sqrt", [ve], f"{out}.sqrt", red)
        n = self._node("Div", [d, s], f"{out}.div", shape)
        y = self._node("Mul", [n, g], f"{out}.mul", shape)
        return self._node("Add", [y, b], out, shape)

    def gelu(self, x: str, *, name: str | None = None) -> str:
        """GELU as PyTorch exports nn.GELU before opset 20: x * (1 + erf(x / sqrt 2)) * 0.5."""
        shape, out = self.shapes[x], self._fresh("Gelu", name)
        a = self._node("Div", [x, self.const(math.sqrt(2), np.float32)], f"{out}.div", shape)
        e = self._node("Erf", [a], f"{out}.erf", shape)
        p = self._node("Add", [e, self.const(1.0, np.float32)], f"{out}.add", shape)
        m = self._node("Mul", [x, p], f"{out}.mul", shape)
        return self._node("Mul", [m, self.const(0.5, np.float32)], out, shape)

    def _recurrent(
        self,
        op: str,
        gates: int,
        x: str,
        hidden: int,
        bidirectional: bool,
        name: str | None,
        **attrs: object,
    ) -> str:
        seq, batch, size = self.shapes[x]
        dirs = 2 if bidirectional else 1
        out = self._fresh(op, name)
        bound = hidden**-0.5
        inputs = [
            x,
            self._uniform(f"{out}.W", (dirs, gates * hidden, size), bound),
            self._uniform(f"{out}.R", (dirs, gates * hidden, hidden), bound),
            self._uniform(f"{out}.B", (dirs, 2 * gates * hidden), bound),
        ]
        self.macs += seq * batch * dirs * gates * hidden * (size + hidden)
        y = self._node(
            op,
            inputs,
            out,
            (seq, dirs, batch, hidden),
            hidden_size=hidden,
            direction="bidirectional" if bidirectional else "forward",
            **attrs,
        )
        # ONNX Y is [seq, dirs, batch, hidden]: hand the next layer [seq, batch, dirs * hidden].
        if bidirectional:
            y = self.transpose(y, (0, 2, 1, 3), name=f"{out}.bt")
        return self.reshape(y, (seq, batch, dirs * hidden), name=f"{out}.seq")

    def lstm(
        self, x: str, hidden: int, *, bidirectional: bool = False, name: str | None = None
    ) -> str:
        """One LSTM layer over x [seq, batch, input] (layout 0); returns [seq, batch, D*hidden]."""
        return self._recurrent("LSTM", 4, x, hidden, bidirectional, name)

    def gru(
        self, x: str, hidden: int, *, bidirectional: bool = False, name: str | None = None
    ) -> str:
        """One GRU layer (linear_before_reset=1, PyTorch/cuDNN semantics); like `lstm`."""
        return self._recurrent("GRU", 3, x, hidden, bidirectional, name, linear_before_reset=1)

    # ---------------------------------------------------------------------------- finish

    def finish(
        self, inputs: Sequence[str], outputs: Sequence[str], doc: str = ""
    ) -> onnx.ModelProto:
        """Wrap the graph in an opset-17 model with typed inputs and outputs."""

        def info(n: str) -> onnx.ValueInfoProto:
            return helper.make_tensor_value_info(n, TensorProto.FLOAT, list(self.shapes[n]))

        self.graph.input.extend(info(n) for n in inputs)
        self.graph.output.extend(info(n) for n in outputs)
        self.model.doc_string = doc
        return self.model
