"""The FileCheck suite covers every op and every pass (docs/ARCHITECTURE.md, Tests), so that a
new op or pass cannot land without its lit tests:

- every op of the dnn, tile, vcore and ifp dialects is round-tripped in its dialect's
  `tests/filecheck/dialects/<dialect>/` files that run FV_ROUNDTRIP: a CHECK line of its
  printed form and a CHECK-GENERIC line of its generic form;
- every such op fails verification in at least one chunk of the dialect's `*invalid*.mlir`
  files run with `--verify-diagnostics`: the op xDSL marks as not verifying (the line above
  the `^^^` of the diagnostic) is that op, not an op around or inside it;
- every registered pass has `tests/filecheck/transforms/<name>.mlir` whose RUN lines run it.

The invalid files are run in process through `fv-opt`'s own entry point.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from fvir.ir import get_all_dialects
from fvir.passes import get_all_passes
from fvir.tools.fv_opt import main as fv_opt

FILECHECK = Path(__file__).resolve().parents[1] / "filecheck"
DIALECTS = ("dnn", "tile", "vcore", "ifp")

# Ops that cannot fail verification, each with the reason; none so far. An entry must name an
# op that has no verifier-error case (checked below), so the list cannot go stale.
NO_VERIFIER_ERROR: dict[str, str] = {}

_CHECK = re.compile(r"//\s*(CHECK(?:-GENERIC)?)(?:-NEXT|-SAME|-LABEL|-DAG)?:(.*)")
_CARET = re.compile(r"^\s*\^+-*$")
# The generic form of the op a diagnostic marks: `%r = "dnn.relu"(...` or `"vcore.end"() ...`.
_MARKED = re.compile(r'^\s*(?:%[^=]*=\s*)?"([\w.]+)"')


def op_names(dialect: str) -> list[str]:
    return [op.name for op in get_all_dialects()[dialect]().operations]


def files(dialect: str, pattern: str, run_flag: str) -> list[Path]:
    """The dialect's FileCheck files matching `pattern` whose RUN lines use `run_flag`."""
    found = []
    for path in sorted((FILECHECK / "dialects" / dialect).glob(pattern)):
        runs = [line for line in path.read_text().splitlines() if line.startswith("// RUN:")]
        if any(run_flag in line for line in runs):
            found.append(path)
    return found


def _mentions(text: str, name: str) -> bool:
    return re.search(rf'(?<![\w.]){re.escape(name)}(?![\w.])', text) is not None


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_op_round_trips(dialect):
    paths = files(dialect, "*.mlir", "FV_ROUNDTRIP")
    assert paths, f"no round-trip file (RUN: FV_ROUNDTRIP) in tests/filecheck/dialects/{dialect}"
    custom, generic = set(), set()
    for path in paths:
        for m in map(_CHECK.match, path.read_text().splitlines()):
            if m is None:
                continue
            for name in op_names(dialect):
                if m[1] == "CHECK" and _mentions(m[2], name):
                    custom.add(name)
                if m[1] == "CHECK-GENERIC" and f'"{name}"' in m[2]:
                    generic.add(name)
    names = op_names(dialect)
    assert [n for n in names if n not in custom] == [], "ops without a CHECK line"
    assert [n for n in names if n not in generic] == [], "ops without a CHECK-GENERIC line"


def ops_failing_verification(path: Path, capsys) -> list[str]:
    """The op each chunk of `path` marks as not verifying, in order."""
    capsys.readouterr()
    assert fv_opt([str(path), "--split-input-file", "--verify-diagnostics"]) == 0
    lines = capsys.readouterr().out.splitlines()
    marked = []
    for above, line in pairwise(lines):
        if _CARET.match(line) and (m := _MARKED.match(above)):
            marked.append(m[1])
    return marked


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_op_has_a_verifier_error_case(dialect, capsys):
    paths = files(dialect, "*invalid*.mlir", "--verify-diagnostics")
    assert paths, f"no verifier-error file in tests/filecheck/dialects/{dialect}"
    failing = {name for path in paths for name in ops_failing_verification(path, capsys)}
    names = op_names(dialect)
    missing = [n for n in names if n not in failing and n not in NO_VERIFIER_ERROR]
    assert missing == [], "ops with no chunk where they fail verification"
    stale = [n for n in NO_VERIFIER_ERROR if n.split(".")[0] == dialect
             and (n not in names or n in failing)]
    assert stale == [], "NO_VERIFIER_ERROR entries that are gone or do have a case"


def test_the_marked_op_is_read_off_the_diagnostic(tmp_path, capsys):
    """The detection itself: the op marked is the one whose verifier failed (here the
    tile.yield outside a layer, not the test.op holding it)."""
    path = tmp_path / "bad.mlir"
    path.write_text(
        '%x = "test.op"() : () -> tensor<4xf32>\n'
        '"test.op"() ({\n  tile.yield %x : tensor<4xf32>\n}) : () -> ()\n'
        "// -----\n"
        '%x = "test.op"() : () -> tensor<4xf32>\n'
        '%y = "dnn.relu"(%x) : (tensor<4xf32>) -> tensor<5xf32>\n'
    )
    assert ops_failing_verification(path, capsys) == ["tile.yield", "dnn.relu"]


@pytest.mark.parametrize("name", sorted(get_all_passes()))
def test_every_pass_has_a_filecheck_test(name):
    path = FILECHECK / "transforms" / f"{name}.mlir"
    assert path.is_file(), f"no FileCheck test {path.relative_to(FILECHECK.parents[1])}"
    runs = [line for line in path.read_text().splitlines() if line.startswith("// RUN:")]
    assert any(_mentions(line, name) for line in runs), f"no RUN line of {path.name} runs {name}"
