"""Issue 16's defects, each one a regression test asserting the one-line message: output
destinations checked before the work, bad `--input` files and flags, re-signed packages with
reserved instruction bits, host IR that would hang xDSL's lexer, non-UTF-8 hardware TOML,
warnings reaching the terminal, and the three named cycle counts."""

from __future__ import annotations

import dataclasses
import json
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from generators import _resign, cnn_model
from ifp.packages import contents, with_section  # tests/ifp, on the path as a package

from fvir.compiler import compile_model
from fvir.hw import TINY
from fvir.ifp.fileformat import Section, read_package, to_bytes, write_package
from fvir.isa.encoding import opcodes
from fvir.isa.spec import SPECS
from fvir.tools.fv import main


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("robust")
    onnx.save(cnn_model(), d / "cnn.onnx")
    write_package(compile_model(cnn_model(), TINY), d / "cnn.ifp")
    return d


def one_line(capsys, argv: list[str], code: int = 1) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------------------------------------
# item 5: destinations before the work (a missing model shows the work never started)


@pytest.mark.parametrize(("flag", "dest", "why"), [
    ("--trace", ".", "it is a directory (give a file name)"),
    ("--trace", "no/such/t.json", "no such directory 'no/such'"),
    ("--trace", "/dev/full", "it is not a regular file"),
    ("--save-outputs", "cnn.onnx", "'cnn.onnx' is not a directory"),
])
def test_run_destinations_checked_first(files, capsys, monkeypatch, flag, dest, why):
    monkeypatch.chdir(files)
    line = one_line(capsys, ["run", "missing.onnx", flag, dest])
    assert line == f"fv run: error: cannot write '{dest}': {why}"


@pytest.mark.parametrize(("argv", "message"), [
    (["compile", "missing.onnx", "-o", "."], "cannot write '.': it is a directory (give a file "
                                               "name)"),
    (["compile", "missing.onnx", "-o", "/dev/full"], "cannot write '/dev/full': it is not a "
                                                       "regular file"),
    (["import", "missing.onnx", "--weights", "nodir/w.npz"],
     "cannot write 'nodir/w.npz': no such directory 'nodir'"),
    (["zoo", "build", "lstm", "-o", "/dev/full"], "cannot write '/dev/full': it is not a "
                                                    "regular file"),
])
def test_other_destinations_checked_first(files, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(files)
    assert one_line(capsys, argv) == f"fv {argv[0]}: error: {message}"


def test_an_existing_output_file_is_replaced(files, capsys, monkeypatch, tmp_path):
    out = tmp_path / "t.json"
    out.write_text("old")
    assert main(["run", str(files / "cnn.ifp"), "--hw", "tiny", "--trace", str(out),
                 "--save-outputs", str(tmp_path / "outs")]) == 0
    assert "traceEvents" in json.loads(out.read_text())
    assert (tmp_path / "outs" / "y.npy").is_file()


# ---------------------------------------------------------------------------------------------
# item 6: --input, --seed, --shape


def _write_inputs(d: Path) -> None:
    (d / "empty.npy").write_bytes(b"")
    np.savez(d / "a.npz", x=np.zeros((1, 3, 16, 16), np.float32))
    np.save(d / "structured.npy", np.zeros(3, dtype=[("a", "f4")]))
    np.save(d / "object.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (d / "pickle.npy").write_bytes(pickle.dumps({"x": 1}))
    np.save(d / "complex.npy", np.zeros((1, 3, 16, 16), np.complex64))
    np.save(d / "small.npy", np.zeros((2, 2), np.float32))


@pytest.mark.parametrize(("name", "message"), [
    ("empty.npy", "--input x: 'empty.npy' is empty, not a .npy array"),
    ("a.npz", "--input x: 'a.npz' is an .npz archive: give one .npy file per input"),
    ("structured.npy", "--input x: 'structured.npy' has dtype [('a', '<f4')]: expected a bool, "
                       "integer or float array"),
    ("object.npy", "--input x: 'object.npy' is not a .npy array (Object arrays cannot be loaded "
                   "when allow_pickle=False)"),
    ("pickle.npy", "--input x: 'pickle.npy' is not a .npy array (This file contains pickled "
                   "(object) data. If you trust the file you can load it unsafely using the "
                   "`allow_pickle=` keyword argument or `pickle.load()`.)"),
    ("complex.npy", "--input x: 'complex.npy' has dtype complex64: expected a bool, integer or "
                    "float array"),
    ("small.npy", "--input x has shape 2x2, the model takes 1x3x16x16"),
])
def test_bad_input_files(files, capsys, monkeypatch, name, message):
    monkeypatch.chdir(files)
    _write_inputs(files)
    line = one_line(capsys, ["run", "cnn.ifp", "--hw", "tiny", "--input", f"x={name}"])
    assert line == f"fv run: error: {message}"


def test_pickle_is_never_unpickled(files, monkeypatch, capsys):
    monkeypatch.chdir(files)
    _write_inputs(files)
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("unpickled"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("unpickled"))
    assert main(["run", "cnn.ifp", "--hw", "tiny", "--input", "x=pickle.npy"]) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--seed", "-1"], "--seed must be non-negative, got -1"),
    (["--shape", "x=1x0x16x16"], "bad --shape 'x=1x0x16x16': every dim must be at least 1"),
])
def test_seed_and_shape(files, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(files)
    assert one_line(capsys, ["run", "cnn.onnx", "--hw", "tiny", *argv]) == \
        f"fv run: error: {message}"


# ---------------------------------------------------------------------------------------------
# item 9: re-signed package with reserved instruction bits; host IR that hangs xDSL


def _reserved_bits_package(d: Path) -> Path:
    package = read_package(d / "cnn.ifp")
    words = package.words.copy()
    ops = opcodes(words)
    for op, spec in SPECS.items():
        rows = np.flatnonzero(ops == int(op))
        masks = [(w, m) for w, m in enumerate(spec.reserved_masks()) if m]
        if len(rows) and masks:
            w, mask = masks[0]
            words[rows[0], w] |= np.uint32(mask & -mask)  # the lowest reserved bit
            out = d / "reserved.ifp"
            write_package(dataclasses.replace(package, words=words), out)  # re-signed
            return out
    raise AssertionError("no instruction with reserved bits in the package")


@pytest.mark.parametrize("argv", [["link", "--cores", "2"], ["run"], ["inspect", "--disasm"]])
def test_reserved_bits_are_one_line_on_every_decode_path(files, capsys, argv):
    path = _reserved_bits_package(files)
    line = one_line(capsys, [argv[0], str(path), "--hw", "tiny", *argv[1:]]
                    if argv[0] != "inspect" else [argv[0], str(path), *argv[1:]])
    assert line.startswith(f"fv {argv[0]}: error: ")
    assert "has reserved bits set in word" in line


def test_host_ir_with_a_stray_quote_is_rejected_on_read(files, capsys):
    package = read_package(files / "cnn.ifp")
    layers = list(package.layers)
    layers[0] = dataclasses.replace(layers[0], host_ir='func.func @f() -> tensor<"1xf32> {\n}')
    path = files / "quote.ifp"
    path.write_bytes(to_bytes(dataclasses.replace(package, layers=layers)))
    line = one_line(capsys, ["inspect", str(path)])
    assert "host IR line 1: string literal not closed" in line


def test_raw_resigned_edit_is_caught_beyond_the_checksum(files, capsys):
    data = bytearray((files / "cnn.ifp").read_bytes())
    data[200:204] = b"\xff\xff\xff\xff"  # inside the compressed metadata
    path = files / "edited.ifp"
    path.write_bytes(_resign(data))
    line = one_line(capsys, ["inspect", str(path)])
    assert line.startswith("fv inspect: error: ") and "checksum" not in line


# ---------------------------------------------------------------------------------------------
# items 8, 12 and the cycle counts


def test_non_utf8_hardware_toml(files, capsys, tmp_path):
    path = tmp_path / "hw.toml"
    path.write_bytes(b'name = "\xff"\n')
    line = one_line(capsys, ["link", str(files / "cnn.ifp"), "--hw", str(path), "--cores", "1"])
    assert line == f"fv link: error: {path}: invalid TOML: not UTF-8 (byte 0xff at offset 8)"


def test_overflowing_inputs_warn_nobody(files, capsys, tmp_path):
    huge = tmp_path / "huge.npy"
    np.save(huge, np.full((1, 3, 16, 16), 3e38, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        for backend, finite in ((["--hw", "tiny"], True), (["--backend", "reference"], False)):
            assert main(["run", str(files / "cnn.onnx"), *backend, "--input", f"x={huge}",
                         "--json"]) == 0
            out = json.loads(capsys.readouterr().out)
            assert out["outputs"][0]["finite"] is finite  # int8 saturates; float overflows


def test_three_cycle_counts_are_named(files, capsys, tmp_path):
    assert main(["compile", str(files / "cnn.onnx"), "--hw", "tiny", "-o",
                 str(tmp_path / "c.ifp"), "--json"]) == 0
    estimated = json.loads(capsys.readouterr().out)["estimated_cycles"]
    assert main(["link", str(tmp_path / "c.ifp"), "--hw", "tiny", "--cores", "2", "--json"]) == 0
    linked = json.loads(capsys.readouterr().out)["linked_cycles"]
    assert main(["run", str(tmp_path / "c.ifp"), "--hw", "tiny", "--cores", "2", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert (run["estimated_cycles"], run["linked_cycles"]) == (estimated, linked)
    assert run["simulated_cycles"] == run["cycles"] > 0
    assert main(["run", str(tmp_path / "c.ifp"), "--hw", "tiny", "--cores", "2"]) == 0
    text = capsys.readouterr().out
    assert f"linker's prediction {linked} cycles, compiler's one-core estimate {estimated}" in text


@pytest.mark.parametrize("flag", ["--trace", "--save-outputs"])
def test_a_name_too_long_is_one_line(files, capsys, flag):
    name = "x" * 300
    line = one_line(capsys, ["run", "missing.onnx", flag, name])
    assert line == f"fv run: error: cannot write '{name}': File name too long"


def test_tensor_dtype_must_be_numeric(files, capsys, tmp_path):
    # The writer refuses such a package: edit the metadata JSON of a written one.
    dtype = read_package(files / "cnn.ifp").tensors[0].dtype
    data = (files / "cnn.ifp").read_bytes()
    text = contents(data, Section.META).decode()
    edited = text.replace(f'"dtype": "{dtype}"', '"dtype": ""', 1)
    assert edited != text
    path = tmp_path / "dtype.ifp"
    path.write_bytes(with_section(data, Section.META, edited.encode()))
    line = one_line(capsys, ["link", str(path), "--hw", "tiny", "--cores", "1"])
    assert line.startswith("fv link: error: ") and "has dtype '', not a numeric type" in line


@pytest.mark.parametrize(("content", "message"), [
    (b"", "cannot read calibration data 'c.npy': the file is empty"),
    (None, "'c.npy': input 'x' has dtype complex64, expected a bool, integer or float array"),
])
def test_bad_calibration_files(files, capsys, monkeypatch, tmp_path, content, message):
    monkeypatch.chdir(tmp_path)
    if content is None:
        np.save("c.npy", np.zeros((1, 3, 16, 16), np.complex64))
    else:
        Path("c.npy").write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the ComplexWarning used to leak
        line = one_line(capsys, ["compile", str(files / "cnn.onnx"), "--hw", "tiny", "-o",
                                 "o.ifp", "--calib", "c.npy"])
    assert line == f"fv compile: error: {message}"


# ---------------------------------------------------------------------------------------------
# the 10,000-input fuzz run's findings


def test_transpose_perm_that_is_not_a_permutation(capsys, tmp_path):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 3])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["a", "b", "c"])
    node = onnx.helper.make_node("Transpose", ["x"], ["y"], perm=[0, 3, 1])
    graph = onnx.helper.make_graph([node], "g", [x], [y])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]),
              tmp_path / "t.onnx")
    line = one_line(capsys, ["import", str(tmp_path / "t.onnx")])
    assert line == ("fv import: error: Transpose perm [0, 3, 1] is not a permutation of the "
                    "input's 3 axes")


def test_cloud_plot_dir_name_too_long(capsys, tmp_path):
    name = "x" * 300
    line = one_line(capsys, ["cloud", str(tmp_path / "missing.toml"), "--plot", name])
    assert line == f"fv cloud: error: cannot write '{name}': File name too long"


def test_tensor_frac_bits_beyond_float64(files, capsys, tmp_path):
    # The writer refuses such a package: edit the metadata JSON of a written one.
    info = read_package(files / "cnn.ifp").tensors[0]
    data = (files / "cnn.ifp").read_bytes()
    text = contents(data, Section.META).decode()
    field = f'"dtype": "{info.dtype}",\n   "frac_bits": {info.frac_bits},'
    edited = text.replace(field, f'"dtype": "{info.dtype}", "frac_bits": 99999,', 1)
    assert edited != text
    path = tmp_path / "frac.ifp"
    path.write_bytes(with_section(data, Section.META, edited.encode()))
    line = one_line(capsys, ["run", str(path), "--hw", "tiny", "--cores", "1"])
    assert line.startswith("fv run: error: ") and "frac_bits 99999 (outside -1023..1023)" in line


def test_empty_output_prints_no_statistics(capsys, tmp_path):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["a", "b"])
    starts = onnx.helper.make_tensor("s", onnx.TensorProto.INT64, [1], [1])
    ends = onnx.helper.make_tensor("e", onnx.TensorProto.INT64, [1], [1])
    node = onnx.helper.make_node("Slice", ["x", "s", "e"], ["y"])
    graph = onnx.helper.make_graph([node], "g", [x], [y], initializer=[starts, ends])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]),
              tmp_path / "e.onnx")
    assert main(["run", str(tmp_path / "e.onnx"), "--backend", "reference"]) == 0
    assert "y: 0x3 float32  (empty)" in capsys.readouterr().out


def test_calibration_exponents_beyond_float32_warn_nobody():
    from fvir.calibration import quantization_errors
    from fvir.frontend.onnx import import_model
    from fvir.ir.functions import main_function

    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    imported = import_model(onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 17)]))
    arg = main_function(imported.module).args[0]
    sample = [np.array([[0.0, 0.25, -1.0, 0.5]], np.float32)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 2**200 in float32 overflowed, 0 * inf was invalid
        (c,) = quantization_errors(imported.module, imported.weights, [sample],
                                   {arg: [2, 200]}).values()
    assert c.sse[0] == 0.0  # 0.25, -1 and 0.5 sit on the 2**-2 grid
    assert c.sse[1] == np.inf  # the scale does not exist in float32


def test_malformed_initializer_in_a_fusable_projection(capsys, tmp_path):
    # The transformer fusion reads initializers before the importer checks them.
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4, 8])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4, 8])
    w = onnx.helper.make_tensor("w", onnx.TensorProto.FLOAT, [8, 8], np.zeros(64, np.float32))
    b = onnx.TensorProto(name="b", data_type=onnx.TensorProto.FLOAT, dims=[8],
                         raw_data=b"\0" * 12)  # 3 floats for 8
    nodes = [onnx.helper.make_node("MatMul", ["x", "w"], ["m"]),
             onnx.helper.make_node("Add", ["m", "b"], ["y"])]
    graph = onnx.helper.make_graph(nodes, "g", [x], [y], initializer=[w, b])
    path = tmp_path / "p.onnx"
    path.write_bytes(onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 16)]).SerializeToString())
    line = one_line(capsys, ["import", str(path)])
    assert line.startswith("fv import: error: ")


def test_projection_weight_with_the_wrong_inner_dimension(capsys, tmp_path):
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [3, 2])
    w = onnx.helper.make_tensor("w", onnx.TensorProto.FLOAT, [5, 2], np.zeros(10, np.float32))
    graph = onnx.helper.make_graph([onnx.helper.make_node("Gemm", ["x", "w"], ["y"])], "g",
                                   [x], [y], initializer=[w])
    path = tmp_path / "g.onnx"
    path.write_bytes(onnx.helper.make_model(
        graph, opset_imports=[onnx.helper.make_opsetid("", 17)]).SerializeToString())
    line = one_line(capsys, ["import", str(path)])
    assert line.startswith("fv import: error: ") and "must be 4" in line


def test_unknown_opcode_in_the_timing_tables():
    from fvir.backend.items import instr_table
    from fvir.hw import cost
    from fvir.isa.encoding import DecodingError

    words = np.zeros((1, 8), np.uint32)
    words[0, 0] = 0xB  # no instruction has opcode 11
    with pytest.raises(DecodingError, match="unknown opcode 0xb"):
        instr_table(words, TINY.core, cost.DEFAULT_TIMING)


def test_a_reader_that_stops_early_is_not_a_traceback():
    """`fv ... | head`: the reader closes the pipe (here before fv writes anything, so the
    write always fails); fv ends quietly with a shell's SIGPIPE status, not a
    BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "fvir.tools.fv", "passes", "--pipeline"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141, err
    assert "Traceback" not in err


def test_a_missing_compiled_simulator_is_one_line():
    """An installation whose C extension was not built (here: hidden from the import system)
    gets one line saying how to build it, not an ImportError traceback."""
    code = ("import sys; sys.modules['fvir.backend._engine'] = None; "
            "from fvir.tools.fv import main; raise SystemExit(main(['run', 'resnet18']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "compiled simulator" in proc.stderr and "pip install -e ." in proc.stderr
