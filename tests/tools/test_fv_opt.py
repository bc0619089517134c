"""`fv-opt`: xdsl-opt flags keep working, plugins load both ways, user mistakes give a
diagnostic and exit code 1 rather than a traceback."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fvir.tools.fv_opt import main

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin" / "fvir_example_plugin.py"

GOOD = """
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = dnn.relu %x : tensor<1x4xf32>
  func.return %y : tensor<1x4xf32>
}
"""

# dnn.relu must keep its operand's type.
BAD = """
func.func @main(%x: tensor<1x4xf32>) -> tensor<1x5xf32> {
  %y = "dnn.relu"(%x) : (tensor<1x4xf32>) -> tensor<1x5xf32>
  func.return %y : tensor<1x5xf32>
}
"""


def run_opt(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "in.mlir") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_prints_module(tmp_path, capsys):
    code, out, _ = run_opt(capsys, write(tmp_path, GOOD))
    assert code == 0
    assert "%y = dnn.relu %x : tensor<1x4xf32>" in out


def test_generic_form(tmp_path, capsys):
    code, out, _ = run_opt(capsys, write(tmp_path, GOOD), "--print-op-generic")
    assert code == 0
    assert '"dnn.relu"(%x) : (tensor<1x4xf32>) -> tensor<1x4xf32>' in out


def test_missing_file(tmp_path, capsys):
    code, _, err = run_opt(capsys, str(tmp_path / "nope.mlir"))
    assert code == 1
    assert err.startswith("fv-opt: error:") and "nope.mlir" in err
    assert "Traceback" not in err


def test_parse_error_has_location(tmp_path, capsys):
    text = '%x = "test.op"() : () -> tensor<4xf32>\n%y = dnn.nosuch %x : tensor<4xf32>\n'
    path = write(tmp_path, text)
    code, _, err = run_opt(capsys, path)
    assert code == 1
    assert err.startswith(f"{path}:2:17\n") and "Operation dnn.nosuch is not registered" in err
    assert "Traceback" not in err


def test_verify_error_names_the_op(tmp_path, capsys):
    code, _, err = run_opt(capsys, write(tmp_path, BAD))
    assert code == 1
    assert "Operation does not verify" in err and "dnn.relu" in err
    assert "Traceback" not in err


def test_verify_diagnostics_exit_zero(tmp_path, capsys):
    code, out, _ = run_opt(capsys, write(tmp_path, BAD), "--verify-diagnostics")
    assert code == 0
    assert "Operation does not verify" in out


def test_unknown_pass(tmp_path, capsys):
    code, _, err = run_opt(capsys, write(tmp_path, GOOD), "-p", "no-such-pass")
    assert code == 1
    assert err == "fv-opt: error: Unrecognized passes: ['no-such-pass']\n"


def test_a_failing_pass_is_one_line(tmp_path, capsys):
    """A pass that cannot handle its input names itself and the op, in one line; with
    --verify-diagnostics the message is the expected output, exit code 0."""
    code, _, err = run_opt(capsys, write(tmp_path, GOOD), "-p", "tile-compile-frames")
    assert code == 1
    assert err == ("fv-opt: error: tile-compile-frames: the module is not tiled (no tile.core "
                   "attribute): run dnn-tile first\n")
    code, _, err = run_opt(capsys, write(tmp_path, GOOD), "--hw", "nope", "-p", "dnn-tile")
    assert code == 1
    assert err.startswith("fv-opt: error: unknown hardware 'nope'") and err.count("\n") == 1


def test_plugin_file(tmp_path, capsys):
    code, out, _ = run_opt(
        capsys, write(tmp_path, GOOD), "--load-plugin", str(PLUGIN), "-p", "dnn-annotate-macs"
    )
    assert code == 0
    assert "dnn.total_macs = 0 : i64" in out


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def broken(:\n", "(line 1): SyntaxError"),
        ("import no_such_module_anywhere\n", "(line 1): ModuleNotFoundError"),
        ("x = 1\n", "defines no xdsl.universe.Universe"),
    ],
)
def test_broken_plugin_is_one_line(tmp_path, capsys, source, message):
    plugin = write(tmp_path, source, "myplugin.py")
    code, _, err = run_opt(capsys, write(tmp_path, GOOD), "--load-plugin", plugin)
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("fv-opt: error: ") and "myplugin.py" in err and message in err


def test_missing_plugin_file(tmp_path, capsys):
    code, _, err = run_opt(capsys, write(tmp_path, GOOD), "--load-plugin", "nowhere/p.py")
    assert code == 1
    assert err == "fv-opt: error: cannot load plugin 'nowhere/p.py': no such file\n"


def test_installed_plugin_entry_point(tmp_path):
    """Install the example plugin as a real distribution; plain fv-opt and xdsl-opt see it."""
    src = tmp_path / "src"
    shutil.copytree(PLUGIN.parent, src)
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(src)],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    mlir = write(tmp_path, GOOD)
    bindir = Path(sys.executable).parent
    for tool in ("fv-opt", "xdsl-opt"):
        proc = subprocess.run(
            [str(bindir / tool), mlir, "-p", "dnn-annotate-macs"],
            env=env, capture_output=True, text=True, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "dnn.total_macs = 0 : i64" in proc.stdout


def _install_entry_point(site: Path, name: str, value: str) -> None:
    """Make `site` hold a distribution whose `xdsl.universe` entry point is `value`."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[xdsl.universe]\n{name} = {value}\n")


@pytest.mark.parametrize(
    ("name", "module", "message"),
    [
        ("brokdep", "import no_such_dep_anywhere\n", "ModuleNotFoundError"),
        ("brokattr", "X = 1\n", "AttributeError"),
        ("broktype", "UNIVERSE = 42\n", "is not an xdsl.universe.Universe"),
    ],
)
def test_broken_installed_plugin_is_one_line(tmp_path, capsys, monkeypatch, name, module,
                                             message):
    """A broken installed package is named in one line, even when its passes are not used."""
    site = tmp_path / "site"
    _install_entry_point(site, name, f"{name}:UNIVERSE")
    (site / f"{name}.py").write_text(module)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, name, raising=False)
    code, _, err = run_opt(capsys, write(tmp_path, GOOD))
    assert code == 1
    assert err.count("\n") == 1, err
    assert err.startswith("fv-opt: error: ") and f"'{name}' ({name}:UNIVERSE)" in err
    assert message in err


def test_bad_flag_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main([write(tmp_path, GOOD), "--no-such-flag"])
    _, err = capsys.readouterr()
    assert stop.value.code == 2
    assert err.count("\n") == 1 and "unrecognized arguments: --no-such-flag" in err


# ---------------------------------------------------------------------------------------------
# issue 16: bad input is a diagnostic, never a traceback or a hang


def test_non_utf8_input_is_one_line(tmp_path, capsys):
    path = tmp_path / "in.mlir"
    path.write_bytes(GOOD.encode() + b"\n// \xff\n")
    code, out, err = run_opt(capsys, str(path))
    assert (code, out) == (1, "")
    assert err == f"fv-opt: error: '{path}' is not UTF-8 text: byte 0xff on line 7\n"


@pytest.mark.parametrize(("pipeline", "column", "why"), [
    ("dnn-tile{", 10, "Expected argument name here"),
    (",,", 1, "Expected pass name here"),
    ("min-tiles=", 10, "Expected a comma or pass arguments here"),
])
def test_malformed_pipeline_is_one_line(tmp_path, capsys, pipeline, column, why):
    code, _, err = run_opt(capsys, write(tmp_path, GOOD), "-p", pipeline)
    assert code == 1
    assert err == f"fv-opt: error: bad pass pipeline '{pipeline}' at column {column}: {why}\n"


@pytest.mark.parametrize(("literal", "message"), [
    ("dense<[300, 1]> : tensor<2xi8>", "Integer value 300 is out of range for type i8"),
    ("dense<1.0e300> : tensor<2xf32>", "float too large to pack with f format"),
    ("dense<99999999999999999999999> : tensor<2xi64>", "out of range for type i64"),
])
def test_dense_literal_out_of_range_is_a_parse_error(tmp_path, capsys, literal, message):
    text = f'"test.op"() {{v = {literal}}} : () -> ()\n'
    code, out, err = run_opt(capsys, write(tmp_path, text))
    assert (code, out) == (1, "")
    assert "Traceback" not in err and message in err
    assert err.splitlines()[0].endswith("in.mlir:1:" + str(text.index("}") + 1))


def test_any_extension_reads_as_mlir(tmp_path, capsys):
    code, out, _ = run_opt(capsys, write(tmp_path, GOOD, "model.txt"))
    assert code == 0 and "dnn.relu" in out


STRAY_QUOTE = """
func.func @main(%x: tensor<1x2x3x4xf32>) -> tensor<1x24xf32> {
  %f = dnn.flatten %x : tensor<"1x2x3x4xf32> -> tensor<1x24xf32>
  func.return %f : tensor<1x24xf32>
}
"""


@pytest.mark.timeout(20)  # xDSL's own lexer takes minutes on this (exponential backtracking)
def test_stray_quote_in_a_type_fails_fast(tmp_path, capsys):
    path = write(tmp_path, STRAY_QUOTE)
    code, out, err = run_opt(capsys, path)
    assert (code, out) == (1, "")
    assert err == (f"fv-opt: error: {path}:3:32: string literal not closed on its line (or with "
                   "an escape MLIR does not know)\n")


def test_verifier_error_shows_the_op_not_the_module(tmp_path, capsys):
    body = "\n".join(f"  %a{i} = dnn.relu %x : tensor<1x4xf32>" for i in range(40))
    text = (f"func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {{\n{body}\n"
            '  %y = "dnn.relu"(%x) : (tensor<1x4xf32>) -> tensor<1x5xf32>\n'
            f"{body.replace('%a', '%b')}\n  func.return %x : tensor<1x4xf32>\n}}\n")
    code, _, err = run_opt(capsys, write(tmp_path, text))
    lines = err.splitlines()
    assert code == 1 and lines[0].startswith("fv-opt: error: ")
    assert len(lines) < 12  # the op, its box, a line either side; not the 80-op module
    assert any("tensor<1x5xf32>" in line for line in lines)
    assert lines[1] == "..." and lines[-1] == "..."
