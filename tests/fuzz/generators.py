"""Generators of bad (and some good) inputs for every fvir entry point, one per input kind.

Each generator is a function `(rng: random.Random) -> Case`, so the same code serves the long
run (`tests/fuzz/run.py`, a seeded `Random` per case: reproducible by index) and the pytest
slice (`hypothesis.strategies.randoms()`, which shrinks a failure). The kinds:

1. `onnx`: small ONNX graphs of the ops fvir imports (Conv, pools, Gemm, MatMul, LSTM, GRU,
   BatchNormalization, ...) with attributes, dims, dtypes and opsets drawn from valid and
   invalid values, and corrupted or truncated model files; run through `fv import`,
   `fv run --backend reference`, `fv compile` and `fv run --check`.
2. `mlir`: token mutations (delete, duplicate, swap, insert from a vocabulary of hostile
   tokens: stray quotes, out-of-range `dense<>` literals, huge numbers, non-UTF-8 bytes) of
   the FileCheck suite's inputs, with random pass pipelines (malformed ones too); `fv-opt`.
3. `package`: edits of a compiled `.ifp` (instruction bits, frame, relocation, tensor, layer
   and segment fields, host IR, raw metadata bytes) with the checksum recomputed, so the
   reader's checks beyond the checksum are what stands; `fv inspect`, `fv link`, `fv run`.
4. `toml`: hardware TOML values (inf, nan, 1e308, 1e-300, wrong types, unknown or missing
   keys, broken syntax) for `fv link/compile/run --hw`, and cloud scenario values
   (`duration_s`, load rates, `weight`, `seed`, ...) for `fv cloud`.
5. `cli`: every subcommand with flags drawn from its own and hostile values: negative, zero
   and huge numbers, output paths that are directories, missing, `/dev/full` or existing
   files, `--input` files that are empty, `.npz`, structured, pickled or complex.

`build_fixtures(directory)` writes the files cases refer to (a small CNN as ONNX and as a
package for the `tiny` hardware, input arrays, a valid hardware TOML and scenario).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import random
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
from harness import Case
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
CNN_INPUT = (1, 3, 16, 16)
TIMEOUT = {"onnx": 60.0, "mlir": 20.0, "package": 30.0, "toml": 60.0, "cli": 60.0}


# ---------------------------------------------------------------------------------------------
# fixtures


def cnn_model(seed: int = 0) -> onnx.ModelProto:
    """conv3x3+relu, max pool, conv, global average pool, flatten, dense: [1,3,16,16] -> [1,10]."""
    rng = np.random.default_rng(seed)

    def w(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    inits = [numpy_helper.from_array(a, n) for n, a in [
        ("w1", w(8, 3, 3, 3)), ("b1", w(8, scale=0.1)), ("w2", w(8, 8, 3, 3, scale=0.2)),
        ("w3", w(10, 8)), ("b3", w(10, scale=0.1))]]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(CNN_INPUT))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


SCENARIO = """name = "fuzz"
workload = "cnn"
hw = "tiny"
baseline_hw = "tiny"
duration_s = 0.002
seed = 0
policy = "public"
baselines = []

[[tenants]]
name = "a"
model = "cnn.ifp"
share = 0.5
arrival = "poisson"
load = [[0.0, 100.0]]
start_s = 0.0
stop_s = 0.002
"""


def build_fixtures(directory: Path) -> Path:
    """Write the shared fixtures into `directory` (see the module docstring)."""
    from fvir.compiler import compile_model
    from fvir.hw import TINY, to_toml
    from fvir.ifp.fileformat import write_package

    directory.mkdir(parents=True, exist_ok=True)
    model = cnn_model()
    onnx.save(model, directory / "cnn.onnx")
    write_package(compile_model(model, TINY), directory / "cnn.ifp")
    (directory / "hw.toml").write_text(to_toml(TINY))
    (directory / "scenario.toml").write_text(SCENARIO)
    rng = np.random.default_rng(0)
    np.save(directory / "x.npy", rng.standard_normal(CNN_INPUT).astype(np.float32))
    np.save(directory / "x64.npy", rng.standard_normal(CNN_INPUT))
    np.save(directory / "wrong_shape.npy", np.zeros((2, 3), np.float32))
    np.save(directory / "complex.npy", np.zeros(CNN_INPUT, np.complex64))
    np.save(directory / "structured.npy", np.zeros(4, dtype=[("a", "f4"), ("b", "i4")]))
    np.save(directory / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(directory / "arrays.npz", x=np.zeros(CNN_INPUT, np.float32))
    (directory / "empty.npy").write_bytes(b"")
    (directory / "pickle.npy").write_bytes(pickle.dumps({"x": 1}))
    (directory / "text.npy").write_text("not numpy\n")
    (directory / "nan.npy").write_bytes(_npy(np.full(CNN_INPUT, np.nan, np.float32)))
    (directory / "huge.npy").write_bytes(_npy(np.full(CNN_INPUT, 3e38, np.float32)))
    (directory / "outdir").mkdir(exist_ok=True)
    return directory


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# values


def hostile_int(rng: random.Random) -> int:
    return rng.choice([-(2**63), -(2**31), -1, 0, 1, 2, 3, 7, 64, 2**31 - 1, 2**32, 2**63 - 1,
                       2**64, 10**30])


def hostile_float(rng: random.Random) -> float:
    return rng.choice([float("inf"), float("-inf"), float("nan"), 1e308, -1e308, 1e-300, 0.0,
                       -0.0, -1.0, 0.5, 1.0, 3.0, 1e6])


def hostile_text(rng: random.Random) -> str:
    return rng.choice(["", " ", "x", "-1", "0", "1e308", "nan", "inf", "a=b", "=", ",,", "{",
                       "\u00e9\u00e8", "\udcff", "a" * 300, "../..", "/", "x" * 5000])


# ---------------------------------------------------------------------------------------------
# 1. ONNX graphs

DTYPES = [TensorProto.FLOAT] * 8 + [TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.INT64,
                                    TensorProto.INT32, TensorProto.BOOL, TensorProto.INT8,
                                    TensorProto.STRING, TensorProto.UINT8]


def _ints(rng: random.Random, n: int, lo: int, hi: int) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(n)]


def _maybe_bad_list(rng: random.Random, good: list[int]) -> list[int]:
    """`good` most of the time; else one entry too many or too few, negative, zero or huge."""
    r = rng.random()
    if r < 0.7:
        return good
    if r < 0.8:
        return good + good[:1]
    if r < 0.85 and len(good) > 1:
        return good[:-1]
    bad = list(good)
    if bad:
        bad[rng.randrange(len(bad))] = rng.choice([-1, 0, 10**6, 2**40])
    return bad


def _dims(rng: random.Random, rank: int) -> list[int | str]:
    dims: list[int | str] = [1, *_ints(rng, rank - 1, 1, 12)]
    if rng.random() < 0.15:
        dims[rng.randrange(rank)] = rng.choice([0, -1, -5, 10**6, 2**40, "N", ""])
    return dims


def _conv_like(rng: random.Random, op: str, x: str, c: int, spatial: int,
               inits: list[onnx.TensorProto]) -> onnx.NodeProto:
    k = rng.choice([1, 2, 3])
    attrs: dict = {}
    if op == "Conv":
        oc = rng.choice([1, 4, 8])
        wrank = rng.choice([spatial + 2] * 8 + [spatial + 1, spatial + 3])
        wshape = [oc, c] + [k] * (wrank - 2)
        inits.append(numpy_helper.from_array(
            np.random.default_rng(rng.randrange(1 << 30)).standard_normal(wshape)
            .astype(np.float32), f"w{len(inits)}"))
        inputs = [x, inits[-1].name]
        if rng.random() < 0.2:
            attrs["group"] = rng.choice([0, 2, c, -1])
    else:
        inputs = [x]
        attrs["kernel_shape"] = _maybe_bad_list(rng, [k] * spatial)
    if rng.random() < 0.6:
        attrs["strides"] = _maybe_bad_list(rng, [rng.choice([1, 2])] * spatial)
    if rng.random() < 0.5:
        attrs["pads"] = _maybe_bad_list(rng, [rng.choice([0, 1])] * (2 * spatial))
    if op == "Conv" and rng.random() < 0.3:
        attrs["dilations"] = _maybe_bad_list(rng, [rng.choice([1, 2])] * spatial)
    if rng.random() < 0.1:
        attrs["auto_pad"] = rng.choice(["SAME_UPPER", "VALID", "BOGUS"])
    return helper.make_node(op, inputs, [f"{op.lower()}{len(inits)}{rng.randrange(99)}"], **attrs)


def onnx_graph(rng: random.Random) -> onnx.ModelProto:
    """A random small graph of 1-4 ops."""
    kind = rng.choice(["cnn", "cnn", "cnn", "dense", "rnn", "misc"])
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    dtype = rng.choice(DTYPES)
    if kind == "cnn":
        spatial = rng.choice([2, 2, 2, 1, 3])
        shape = _dims(rng, spatial + 2)
        if rng.random() < 0.1:
            shape = shape[:-1]  # rank the op does not take
        x = "x"
        c = shape[1] if len(shape) > 1 and isinstance(shape[1], int) and 0 < shape[1] < 64 else 3
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(["Conv", "Conv", "MaxPool", "AveragePool", "Relu",
                             "GlobalAveragePool", "BatchNormalization", "Flatten", "Softmax"])
            if op in ("Conv", "MaxPool", "AveragePool"):
                node = _conv_like(rng, op, x, c, spatial, inits)
                if op == "Conv":
                    c = int(numpy_helper.to_array(inits[-1]).shape[0])
            elif op == "BatchNormalization":
                names = []
                for part in ("s", "b", "m", "v"):
                    n = rng.choice([c, c, c + 1])
                    arr = np.abs(np.random.default_rng(len(inits)).standard_normal(n)) + 0.1
                    inits.append(numpy_helper.from_array(arr.astype(np.float32),
                                                         f"{part}{len(inits)}"))
                    names.append(inits[-1].name)
                node = helper.make_node(op, [x, *names], [f"bn{len(nodes)}"],
                                        epsilon=rng.choice([1e-5, 0.0, -1.0]))
            elif op in ("Flatten", "Softmax"):
                node = helper.make_node(op, [x], [f"{op}{len(nodes)}"],
                                        axis=rng.choice([1, 1, 0, -1, 5, -9]))
            else:
                node = helper.make_node(op, [x], [f"{op}{len(nodes)}"])
            nodes.append(node)
            x = node.output[0]
    elif kind == "dense":
        n, k, m = rng.choice([1, 2]), rng.choice([4, 8, 0, -1]), rng.choice([3, 5])
        shape = [n, k]
        wk = k if rng.random() < 0.85 else k + 1
        w = np.random.default_rng(1).standard_normal((max(wk, 1), m)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "w"))
        op = rng.choice(["Gemm", "MatMul"])
        attrs = {"transB": rng.choice([0, 0, 1])} if op == "Gemm" else {}
        nodes.append(helper.make_node(op, ["x", "w"], ["y0"], **attrs))
        x = "y0"
    elif kind == "rnn":
        op = rng.choice(["LSTM", "GRU", "RNN"])
        gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
        seq, batch, inp, hid = rng.choice([1, 3]), 1, rng.choice([2, 4]), rng.choice([2, 3])
        shape = rng.choice([[seq, batch, inp]] * 6 + [[seq, inp], [seq, batch, inp, 1]])
        dirs = rng.choice([1, 1, 2])
        wi = np.random.default_rng(2).standard_normal((dirs, gates * hid, inp)).astype(np.float32)
        wr = np.random.default_rng(3).standard_normal((dirs, gates * hid, hid)).astype(np.float32)
        inits += [numpy_helper.from_array(wi, "W"), numpy_helper.from_array(wr, "R")]
        attrs = {"hidden_size": rng.choice([hid] * 5 + [0, -1, hid + 1])}
        if dirs == 2:
            attrs["direction"] = rng.choice(["bidirectional", "forward", "sideways"])
        nodes.append(helper.make_node(op, ["x", "W", "R"], ["y0"], **attrs))
        x = "y0"
    else:
        op = rng.choice(["Add", "Mul", "Reshape", "Concat", "Transpose", "Sigmoid", "Tanh"])
        shape = _dims(rng, rng.choice([2, 3, 4]))
        if op == "Reshape":
            inits.append(numpy_helper.from_array(
                np.array(rng.choice([[1, -1], [-1, -1], [0, 5], [2**40]]), np.int64), "shape"))
            nodes.append(helper.make_node(op, ["x", "shape"], ["y0"]))
        elif op in ("Add", "Mul"):
            nodes.append(helper.make_node(op, ["x", "x"], ["y0"]))
        elif op == "Concat":
            nodes.append(helper.make_node(op, ["x", "x"], ["y0"], axis=rng.choice([0, 1, 7])))
        elif op == "Transpose":
            nodes.append(helper.make_node(op, ["x"], ["y0"],
                                          perm=rng.choice([[1, 0], [0, 0], [0, 1, 2, 3]])))
        else:
            nodes.append(helper.make_node(op, ["x"], ["y0"]))
        x = "y0"
    out_type = dtype if rng.random() < 0.9 else rng.choice([TensorProto.STRING, TensorProto.BOOL])
    graph = helper.make_graph(
        nodes, "fuzz", [helper.make_tensor_value_info("x", dtype, shape)],
        [helper.make_tensor_value_info(x, out_type, None)], inits)
    opset = rng.choice([13, 17, 17, 17, 11, 9, 21] * 3 + [1, 8, 22, 99, 10**6])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = rng.choice([8, 8, 8, 3, 10, 99])
    try:  # the output's shape as ONNX infers it, as an exporter would write it
        inferred = onnx.shape_inference.infer_shapes(model)
        found = [vi for vi in [*inferred.graph.value_info, *inferred.graph.output]
                 if vi.name == x and vi.type.tensor_type.HasField("shape")]
        if found and out_type == dtype:
            model.graph.output[0].type.CopyFrom(found[0].type)
            return model
    except Exception:
        pass
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info(x, out_type, shape))
    return model


def _corrupt_model_bytes(rng: random.Random, data: bytes) -> bytes:
    r = rng.random()
    if r < 0.3:
        return data[: rng.randrange(len(data) + 1)]
    if r < 0.6:
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if r < 0.8:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))
    return data.replace(b"fuzz", b"\xff\xfe\xfd\xfc")  # non-UTF-8 where strings are


def _external_data(rng: random.Random, model: onnx.ModelProto) -> onnx.ModelProto:
    """Point the first initializer at an external file that is missing, absolute, `..` or a
    directory."""
    if not model.graph.initializer:
        return model
    t = model.graph.initializer[0]
    t.ClearField("raw_data")
    del t.float_data[:]
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    entry = t.external_data.add()
    entry.key, entry.value = "location", rng.choice(
        ["missing.bin", "/etc/passwd", "../../x.bin", "outdir", ".", "x.npy"])
    return model


def gen_onnx(rng: random.Random) -> Case:
    model = onnx_graph(rng)
    note = "graph"
    if rng.random() < 0.08:
        model, note = _external_data(rng, model), "external data"
    data = model.SerializeToString()
    if rng.random() < 0.15:
        data, note = _corrupt_model_bytes(rng, data), "corrupt bytes"
    r = rng.random()
    if r < 0.7:
        argv = ["import", "m.onnx"]
    elif r < 0.85:
        argv = ["run", "m.onnx", "--backend", "reference"]
    elif r < 0.95:
        argv = ["compile", "m.onnx", "--hw", "tiny", "-o", "m.ifp"]
    else:
        argv = ["run", "m.onnx", "--hw", "tiny", "--check"]
    return Case("onnx", "fv", argv, {"m.onnx": data}, TIMEOUT["onnx"], note)


# ---------------------------------------------------------------------------------------------
# 2. MLIR for fv-opt

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[%@^#]?[\w.$-]+|->|\S')
VOCAB = ['"', "'", "{", "}", "<", ">", "(", ")", "[", "]", ":", ",", "=", "->", "%x", "%0",
         "%arg0", "@main", "^bb0", "dense<[300, 1]>", "dense<1.0e300>", "dense<>",
         'tensor<"1x2x3xf32>', "tensor<?x3xf32>", "tensor<0x3xf32>", "tensor<-1x3xf32>",
         "99999999999999999999999", "-1", "0", "1e308", "nan", "inf", "0x", "i8", "i1", "f32",
         "f16", "index", "\\", "//", "#", "dnn.conv2d", "dnn.relu", "dnn.flatten",
         "func.return", "builtin.module", "\"dnn.relu\"", "strides", "= 0 : i64", "x", ""]
PIPELINES = ["", "", "", "dnn-canonicalize", "dnn-fold-batchnorm", "dnn-fuse-activation",
             "dnn-canonicalize,dnn-fuse-activation", "dnn-partition", "dnn-quantize",
             "dnn-tile{hw=tiny}", "dnn-tile{min-tiles=2}", "dnn-tile{", ",,", "min-tiles=",
             "dnn-tile{min-tiles=}", "dnn-tile{min-tiles=-1}", "dnn-tile{hw=nope}",
             "dnn-unroll-rnn", "nope-pass", "dnn-tile{min-tiles=99999999999999999999}"]


def _mlir_seeds() -> list[str]:
    texts = []
    for path in sorted((ROOT / "tests" / "filecheck").rglob("*.mlir")):
        for chunk in path.read_text().split("// -----"):
            body = "\n".join(line for line in chunk.splitlines()
                             if not line.lstrip().startswith("//"))
            if body.strip():
                texts.append(body)
    return texts


def _valid_seeds(texts: list[str]) -> list[str]:
    """The texts that parse and verify (fv-opt's dialects), without running fv-opt."""
    from xdsl.context import Context
    from xdsl.parser import Parser
    from xdsl.universe import Universe

    from fvir.ir.lexguard import unterminated_string

    ctx = Context(allow_unregistered=True)
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    valid = []
    for text in texts:
        if unterminated_string(text) is not None:
            continue
        try:
            Parser(ctx, text).parse_module().verify()
        except Exception:  # an error test of the FileCheck suite
            continue
        valid.append(text)
    return valid


_SEEDS: list[list[str]] = []


def gen_mlir(rng: random.Random) -> Case:
    if not _SEEDS:  # [all inputs, those that parse and verify]: mutate valid IR more often
        seeds = _mlir_seeds()
        _SEEDS.extend([seeds, _valid_seeds(seeds) or seeds])
    text = rng.choice(_SEEDS[1] if rng.random() < 0.7 else _SEEDS[0])
    tokens = [m.group() for m in _TOKEN.finditer(text)]
    spans = [m.span() for m in _TOKEN.finditer(text)]
    edits = []
    for _ in range(rng.choice([0, 0, 1, 1, 1, 1, 2, 3, 5])):
        if not spans:
            break
        i = rng.randrange(len(spans))
        op = rng.choice(["delete", "duplicate", "insert", "insert", "replace", "swap"])
        edits.append((op, i))
    out = text
    for op, i in sorted(edits, key=lambda e: -spans[e[1]][0]):
        s, e = spans[i]
        if op == "delete":
            out = out[:s] + out[e:]
        elif op == "duplicate":
            out = out[:e] + " " + tokens[i] + out[e:]
        elif op == "insert":
            out = out[:s] + rng.choice(VOCAB) + " " + out[s:]
        elif op == "replace":
            out = out[:s] + rng.choice(VOCAB) + out[e:]
        else:
            j = rng.randrange(len(tokens))
            out = out[:s] + tokens[j] + out[e:]
    data = out.encode()
    if rng.random() < 0.05:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + bytes([rng.choice([0xFF, 0xC3, 0x80, 0x00])]) + data[at:]
    if rng.random() < 0.05:
        data = data[: rng.randrange(len(data) + 1)]
    name = rng.choice(["in.mlir"] * 8 + ["in.txt", "in"])
    argv = [name]
    pipeline = rng.choice(PIPELINES)
    if pipeline:
        argv += ["-p", pipeline]
    for flag in ("--print-op-generic", "--split-input-file", "--verify-diagnostics"):
        if rng.random() < 0.1:
            argv.append(flag)
    return Case("mlir", "fv-opt", argv, {name: data}, TIMEOUT["mlir"], f"{len(edits)} edits")


# ---------------------------------------------------------------------------------------------
# 3. packages, re-signed


def _resign(data: bytearray) -> bytes:
    from fvir.ifp.fileformat import CHECKSUM_FIELD

    h = hashlib.sha256()
    h.update(data[: CHECKSUM_FIELD.start])
    h.update(data[CHECKSUM_FIELD.stop:])
    data[CHECKSUM_FIELD] = h.digest()
    return bytes(data)


_BASE_PACKAGE: list = []


def _base_package(fixtures: Path):
    if not _BASE_PACKAGE:
        from fvir.ifp.fileformat import read_package

        _BASE_PACKAGE.append(read_package(fixtures / "cnn.ifp"))
    return _BASE_PACKAGE[0]


def _edit_array(rng: random.Random, arr: np.ndarray) -> np.ndarray:
    arr = arr.copy()
    if not len(arr):
        return arr
    i = rng.randrange(len(arr))
    if arr.dtype.names:
        name = rng.choice(arr.dtype.names)
        kind = arr.dtype[name]
        base = kind.base if kind.shape else kind
        info = np.iinfo(base) if base.kind in "iu" else None
        value = rng.choice([0, 1, -1, 7, 2**31, 2**40]) if info else 0
        if info is not None:
            value = int(np.clip(value, info.min, info.max))
        arr[name][i] = value
    else:
        j = rng.randrange(arr.shape[1]) if arr.ndim == 2 else None
        bit = np.uint32(1 << rng.randrange(32))
        if j is None:
            arr[i] ^= np.uint8(1 << rng.randrange(8)) if arr.dtype == np.uint8 else bit
        else:
            arr[i, j] ^= bit
    return arr


def package_bytes(rng: random.Random, fixtures: Path) -> tuple[bytes, str]:
    from fvir.ifp.fileformat import to_bytes
    from fvir.ifp.package import Segment

    pkg = _base_package(fixtures)
    what = rng.choice(["words", "words", "words", "frames", "relocs", "tensors", "layers",
                       "segments", "host_ir", "names", "meta_bytes", "header", "io"])
    if what in ("words", "frames", "relocs"):
        pkg = replace(pkg, **{what: _edit_array(rng, getattr(pkg, what))})
    elif what == "tensors":
        ts = list(pkg.tensors)
        i = rng.randrange(len(ts))
        field = rng.choice(["segment", "offset", "shape", "frac_bits", "dtype", "layout"])
        value = {"segment": rng.choice([-1, 9, 2**40]), "offset": rng.choice([-1, 2**40, 3]),
                 "shape": rng.choice([(), (0,), (-1, 3), (2**40,)]),
                 "frac_bits": rng.choice([-100, 100, 2**40]),
                 "dtype": rng.choice(["int8", "complex128", "", "object"]),
                 "layout": rng.choice(["", "NHWC", "bogus"])}[field]
        ts[i] = replace(ts[i], **{field: value})
        pkg = replace(pkg, tensors=ts)
    elif what in ("layers", "host_ir"):
        layers = list(pkg.layers)
        i = rng.randrange(len(layers))
        if what == "host_ir":
            ir = layers[i].host_ir or "func.func @main() {\n  func.return\n}\n"
            at = rng.randrange(len(ir) + 1)
            ir = ir[:at] + rng.choice(['"', "}", "%x", "dense<[300]> : tensor<1xi8>", ""]) + \
                ir[at:]
            layers[i] = replace(layers[i], host_ir=ir, kind=rng.choice(["host", layers[i].kind]))
        else:
            field = rng.choice(["frame_start", "frame_count", "kind", "inputs", "outputs"])
            value = {"frame_start": rng.choice([-1, 2**40, 5]),
                     "frame_count": rng.choice([0, -1, 2**40]),
                     "kind": rng.choice(["host", "accel", "", "bogus"]),
                     "inputs": rng.choice([(), (99,), (-1,)]),
                     "outputs": rng.choice([(), (99,), (0, 0)])}[field]
            layers[i] = replace(layers[i], **{field: value})
        pkg = replace(pkg, layers=layers)
    elif what == "segments":
        segs = list(pkg.segments)
        i = rng.randrange(len(segs))
        segs[i] = Segment(segs[i].name, segs[i].kind, rng.choice([0, -1, 2**40, 2**62]))
        pkg = replace(pkg, segments=segs)
    elif what == "names":
        pkg = replace(pkg, name=hostile_text(rng))
    elif what == "io":
        pkg = replace(pkg, inputs=rng.choice([[], [99], [-1], [0, 0]]))
    try:
        data = bytearray(to_bytes(pkg))
    except Exception as exc:
        data = bytearray(to_bytes(_base_package(fixtures)))
        what = f"{what} (writer refused: {type(exc).__name__})"
    if what in ("meta_bytes", "header"):
        lo, hi = (128, min(len(data), 4096)) if what == "meta_bytes" else (0, 128)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(lo, hi)
            if lo <= at < 32 or at >= 64:
                data[at] = rng.randrange(256)
    return _resign(data), what


def gen_package(rng: random.Random, fixtures: Path) -> Case:
    data, what = package_bytes(rng, fixtures)
    r = rng.random()
    if r < 0.35:
        argv = ["inspect", "p.ifp", *rng.choice([[], ["--disasm"], ["--json"]])]
    elif r < 0.7:
        argv = ["link", "p.ifp", "--hw", "tiny", "--cores", str(rng.choice([1, 2, 4])),
                "--repeat", "2", *rng.choice([[], ["--balance", "lpt"], ["--phases", "merged"]])]
    else:
        argv = ["run", "p.ifp", "--hw", "tiny", "--cores", str(rng.choice([1, 2])),
                *rng.choice([[], ["--dtype", "fp32"], ["--json"]])]
    return Case("package", "fv", argv, {"p.ifp": data}, TIMEOUT["package"], what)


# ---------------------------------------------------------------------------------------------
# 4. TOML: hardware and cloud scenarios


def _toml_value(rng: random.Random) -> str:
    return rng.choice(["inf", "-inf", "nan", "1e308", "1e-300", "0", "-1", "0.0",
                       "9223372036854775807", "18446744073709551616", '"x"', "true", "[1, 2]",
                       "{ a = 1 }", '"64 KiB"', '"1e3 KiB"', '"-5 MiB"', "3.5", "2", "16",
                       '"' + "a" * 200 + '"', '"\\u00e9"', "1979-05-27", "[]", '""'])


def _mutate_toml(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    keyed = [i for i, line in enumerate(lines) if "=" in line and not line.startswith("#")]
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.7 and keyed:
            i = rng.choice(keyed)
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {_toml_value(rng)}"
        elif r < 0.8 and keyed:
            lines[rng.choice(keyed)] = ""
        elif r < 0.9:
            lines.insert(rng.randrange(len(lines) + 1), f"{hostile_text(rng)[:20] or 'k'} = 1")
        else:
            at = rng.randrange(len(lines))
            lines[at] = lines[at][: rng.randrange(len(lines[at]) + 1)]
    return "\n".join(lines) + "\n"


def gen_toml(rng: random.Random, fixtures: Path) -> Case:
    if rng.random() < 0.15:
        text = _mutate_toml(rng, SCENARIO)
        return Case("toml", "fv", ["cloud", "s.toml", "--json"],
                    {"s.toml": text.encode("utf-8", "surrogateescape")}, TIMEOUT["toml"],
                    "scenario")
    text = _mutate_toml(rng, (fixtures / "hw.toml").read_text())
    r = rng.random()
    if r < 0.6:
        argv = ["link", "cnn.ifp", "--hw", "h.toml", "--cores", "1", "--repeat", "1"]
    elif r < 0.85:
        argv = ["compile", "cnn.onnx", "--hw", "h.toml", "-o", "o.ifp"]
    else:
        argv = ["run", "cnn.onnx", "--hw", "h.toml"]
    return Case("toml", "fv", argv, {"h.toml": text.encode("utf-8", "surrogateescape")},
                TIMEOUT["toml"], "hardware")


# ---------------------------------------------------------------------------------------------
# 5. command lines

OUT_PATHS = ["out.x", "outdir", "outdir/new.x", "missing/dir/x", "/dev/full", "/dev/null",
             ".", "", "/proc/version", "cnn.onnx", "x" * 300]
INPUTS = ["x.npy", "x64.npy", "wrong_shape.npy", "complex.npy", "structured.npy", "object.npy",
          "arrays.npz", "empty.npy", "pickle.npy", "text.npy", "nan.npy", "huge.npy",
          "missing.npy", "outdir"]
MODELS = ["cnn.onnx", "cnn.onnx", "cnn.ifp", "missing.onnx", "outdir", "x.npy", "lstm",
          "nope", "hw.toml"]


def _num(rng: random.Random) -> str:
    return str(rng.choice([hostile_int(rng), 1, 2, 0, -1, hostile_float(rng)]))


def _flags(rng: random.Random, command: str) -> list[str]:
    def pick(options: list[list[str]]) -> list[str]:
        out: list[str] = []
        for opt in options:
            if rng.random() < 0.35:
                out += opt
        return out

    model = rng.choice(MODELS)
    if command == "run":
        return [model, *pick([
            ["--hw", rng.choice(["tiny", "tiny", "paper-u200", "nope", "hw.toml", "outdir"])],
            ["--cores", _num(rng)], ["--dtype", rng.choice(["int8", "fp32", "fp64"])],
            ["--input", f"x={rng.choice(INPUTS)}"], ["--input", f"{hostile_text(rng)}=x.npy"],
            ["--shape", rng.choice(["x=1x3x16x16", "x=1x0x16x16", "x=1x-3x16", "x=", "x=1x3",
                                    "y=1x3x16x16", "=1"])],
            ["--seed", _num(rng)], ["--check"], ["--trace", rng.choice(OUT_PATHS)],
            ["--save-outputs", rng.choice(OUT_PATHS)], ["--stream-weights"], ["--json"],
            ["--backend", rng.choice(["sim", "reference", "gpu"])]])]
    if command == "compile":
        return [model, "-o", rng.choice(OUT_PATHS + ["o.ifp"] * 4), *pick([
            ["--hw", rng.choice(["tiny", "tiny", "hw.toml", "nope"])],
            ["--shape", rng.choice(["x=1x3x16x16", "x=0x3x16x16", "bad"])],
            ["--calib", rng.choice(INPUTS)], ["--seed", _num(rng)], ["--fp32"], ["--json"]])]
    if command == "link":
        return [model, *pick([
            ["--cores", _num(rng)],
            ["--core-ids", rng.choice(["0,1", "0,0", "-1", "a", "99", ""])],
            ["--hw", rng.choice(["tiny", "paper-u200", "hw.toml"])],
            ["--balance", rng.choice(["snake", "lpt", "x"])], ["--repeat", _num(rng)],
            ["--phases", rng.choice(["layer", "merged", "x"])], ["--json"]])]
    if command == "import":
        return [model, *pick([
            ["-o", rng.choice(OUT_PATHS)], ["--weights", rng.choice(OUT_PATHS)],
            ["--shape", rng.choice(["x=1x3x16x16", "x=1x0x1", "q"])], ["--generic"]])]
    if command == "inspect":
        return [model, *pick([["--disasm"], ["--json"],
                              ["--layer", rng.choice(["0", "-1", "99", "x", "conv"])]])]
    if command == "zoo":
        if rng.random() < 0.5:
            return ["list", *pick([["--json"]])]
        return ["build", rng.choice(["lstm", "gru", "nope", "", "mobilenetv2"]), "-o",
                rng.choice(OUT_PATHS), *pick([["--seed", _num(rng)]])]
    if command == "passes":
        return pick([[rng.choice(["dnn-tile", "nope", "", "dnn-quantize"])]])
    return [model, *pick([["--json"], ["--duration", _num(rng)],
                          ["--plot", rng.choice(OUT_PATHS)]])]


def gen_cli(rng: random.Random) -> Case:
    command = rng.choice(["run", "run", "run", "compile", "compile", "link", "import", "inspect",
                          "zoo", "passes", "cloud", ""])
    argv = [command, *_flags(rng, command)] if command else []
    if rng.random() < 0.1:
        argv.insert(rng.randrange(len(argv) + 1), rng.choice(["--bogus", "-x", "--", "--help"]))
    return Case("cli", "fv", argv, {}, TIMEOUT["cli"], command)


KINDS = ("onnx", "mlir", "package", "toml", "cli")


def generator(kind: str, fixtures: Path) -> Callable[[random.Random], Case]:
    return {"onnx": gen_onnx, "mlir": gen_mlir,
            "package": lambda rng: gen_package(rng, fixtures),
            "toml": lambda rng: gen_toml(rng, fixtures), "cli": gen_cli}[kind]


def case_for(kind: str, seed: int, index: int, fixtures: Path) -> Case:
    """The reproducible case `index` of `kind` in the run with `seed`."""
    rng = random.Random(f"{seed}/{kind}/{index}")
    case = generator(kind, fixtures)(rng)
    case.note = f"{case.note} (seed {seed}, index {index})"
    return case


def describe(case: Case) -> str:
    return json.dumps({"kind": case.kind, "tool": case.tool, "argv": case.argv,
                       "note": case.note})

