"""`fv-opt`: xDSL's opt driver with fvir's dialects and passes, plus `--load-plugin`.

Passes run in an `FvirContext` (`fvir.passes.context`): `--hw` is the target they compile for,
`--weights` the weight store the module's `dnn.weight` ops name (passes that fold or quantize
add arrays to it; `--out-weights` writes it after the pipeline), `--calibration` the input
samples `dnn-quantize` calibrates on. `-p fvir-compile` is the whole static pipeline.

Everything `xdsl-opt` accepts keeps working (`-p` pipelines with options, `--split-input-file`,
`--verify-diagnostics`, `--print-op-generic`, ...). Bad input (a missing file, unparsable or
invalid IR, an unknown pass, a broken plugin file or installed plugin) ends with a diagnostic and
exit code 1, never a Python traceback; a bad flag is one line with exit code 2. A pass that
fails on its input (`PassFailedException`, e.g. a layer no tile of which fits the core) is one
`fv-opt: error:` line naming the pass and the op, like a pass's `UserError`; with
`--verify-diagnostics` its message goes to stdout and the exit code is 0, as for verifier errors.

Input is read as MLIR whatever the file's extension (like mlir-opt). Before xDSL parses it,
the text must be UTF-8 and free of string literals xDSL's lexer cannot end
(`fvir.ir.lexguard`: a stray `"` would make its regex backtrack for minutes); a literal its
parser rejects with a Python error (a `dense<>` value out of range for its element type)
becomes a parse diagnostic at that token. A verifier error prints the message and the
offending op with a line of context, like mlir-opt, not the whole module.
"""

import argparse
import dataclasses
import struct
import sys
import warnings
from collections.abc import Sequence
from typing import IO

from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import ModulePass
from xdsl.universe import Universe
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    PassFailedException,
    VerifyException,
)
from xdsl.utils.lexer import Input, Span
from xdsl.xdsl_opt_main import xDSLOptMain

from fvir.errors import UserError, first_line
from fvir.hw.presets import DEFAULT_HW
from fvir.ir import get_all_dialects
from fvir.ir.lexguard import unterminated_string
from fvir.passes import get_all_passes
from fvir.passes.context import FvirContext
from fvir.tools.fv import OneLineParser
from fvir.tools.plugins import check_installed_plugins, load_plugin
from fvir.tools.progress import StageProgress


class FvOptMain(xDSLOptMain):
    version_format = "fv-opt (fvir) built with xdsl {xdsl_version}"

    def __init__(self, args: Sequence[str] | None = None):
        # xDSLOptMain registers dialects and passes before it parses argv, so plugins are
        # found with a pre-parse.
        pre = argparse.ArgumentParser(add_help=False)
        pre.add_argument("--load-plugin", action="append", default=[])
        known, _ = pre.parse_known_args(args)
        check_installed_plugins()
        self._plugins: list[Universe] = [u for spec in known.load_plugin for u in load_plugin(spec)]
        super().__init__("fvir modular optimizer driver (xdsl-opt with fvir)", args)

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        # xDSLOptMain builds a plain ArgumentParser itself; a usage mistake should still be
        # one line, as in `fv`.
        arg_parser.__class__ = OneLineParser
        super().register_all_arguments(arg_parser)
        arg_parser.add_argument("--hw", default=DEFAULT_HW, metavar="PRESET|FILE",
                                help=f"the hardware passes compile for (default {DEFAULT_HW})")
        arg_parser.add_argument("--weights", metavar="FILE.npz",
                                help="the weight store of the module's dnn.weight ops")
        arg_parser.add_argument("--out-weights", metavar="FILE.npz",
                                help="write the weight store after the passes (with the arrays "
                                "they added)")
        arg_parser.add_argument("--calibration", action="append", default=None,
                                metavar="FILE", help="a .npy/.npz input sample for dnn-quantize "
                                "(repeatable; default: seeded random inputs)")
        arg_parser.add_argument(
            "--load-plugin",
            action="append",
            default=[],
            metavar="MODULE_OR_FILE",
            help="import a module or .py file and register the dialects and passes of every "
            "xdsl.universe.Universe it defines (repeatable)",
        )

    def get_input_stream(self) -> tuple[IO[bytes], str]:
        # mlir-opt reads any file as MLIR; only an explicit --frontend picks another reader.
        stream, extension = super().get_input_stream()
        if extension not in self.available_frontends:
            extension = "mlir"
        return stream, extension

    def register_all_frontends(self) -> None:
        super().register_all_frontends()
        self.available_frontends["mlir"] = self._parse_mlir

    def _parse_mlir(self, stream: IO[bytes]) -> object:
        name = self.get_input_name()
        data = stream.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise UserError(f"'{name}' is not UTF-8 text: byte {data[exc.start]:#04x} on line "
                            f"{line}") from None
        if (where := unterminated_string(text)) is not None:
            raise UserError(f"{name}:{where[0]}:{where[1]}: string literal not closed on its "
                            "line (or with an escape MLIR does not know)")
        parser = Parser(self.ctx, text, name)
        try:
            return parser.parse_module(not self.args.no_implicit_module)
        except (ValueError, OverflowError, struct.error) as exc:
            # xDSL builds attributes (a dense<> literal, say) with Python errors for values
            # its element type cannot hold: a parse error at the token reached.
            span = parser._current_token.span  # no public position
            raise ParseError(Span(span.start, span.end, Input(text, name)),
                             first_line(exc)) from None

    def apply_passes(self, prog: ModuleOp) -> None:
        # A progress line per pass on a terminal (fvir.tools.progress); xDSL's own callback
        # (verification, --print-between-passes, --time-passes) still runs first.
        pipeline = self.pipeline
        inner = pipeline.callback
        with StageProgress("fv-opt", total=len(pipeline.passes)) as progress:

            def callback(previous: ModulePass | None, module: ModuleOp,
                         following: ModulePass | None) -> None:
                if inner is not None:
                    inner(previous, module, following)
                if following is not None:
                    progress(following.name)

            dataclasses.replace(pipeline, callback=callback).apply(self.ctx, prog)
        self.save_weights()

    def register_all_dialects(self) -> None:
        self.ctx = FvirContext()  # before anything is registered in xDSL's plain Context
        super().register_all_dialects()  # upstream + every `xdsl.universe` entry point
        extra = dict(get_all_dialects())
        for universe in self._plugins:
            extra.update(universe.all_dialects)
        for name, factory in extra.items():
            if name not in self.ctx.registered_dialect_names:  # fvir's entry point may have it
                self.ctx.register_dialect(name, factory)

    def setup_pipeline(self) -> None:
        from fvir.hw import load_hw
        from fvir.ir.weights import WeightStore

        assert isinstance(self.ctx, FvirContext)
        self.ctx.target = load_hw(self.args.hw)
        if self.args.weights is not None:
            self.ctx.weights = WeightStore.load(self.args.weights)
        elif self.args.out_weights is not None:
            self.ctx.weights = WeightStore()
        self.ctx.calibration = self.args.calibration
        super().setup_pipeline()

    def save_weights(self) -> None:
        if self.args.out_weights is not None:
            assert isinstance(self.ctx, FvirContext) and self.ctx.weights is not None
            self.ctx.weights.save(self.args.out_weights)

    def register_all_passes(self) -> None:
        super().register_all_passes()
        extra = dict(get_all_passes())
        for universe in self._plugins:
            extra.update(universe.all_passes)
        for name, factory in extra.items():
            self.register_pass(name, factory)


def around_marker(module_text: str, context: int = 1) -> str:
    """xDSL's diagnostic (the whole module with `^^^` under the offending op and a boxed
    message) cut to the op, its box and `context` lines either side, `...` for the rest."""
    lines = module_text.splitlines()
    keep: set[int] = set()
    for i, line in enumerate(lines):
        if line.strip() and set(line.strip()) <= {"^", "-"}:
            end = i
            while end + 1 < len(lines) and lines[end + 1].strip()[:1] in ("|", "-"):
                end += 1
            keep.update(range(max(0, i - 1 - context), min(len(lines), end + 1 + context)))
    if not keep:
        return module_text
    out, last = [], -1
    for i in sorted(keep):
        if i != last + 1:
            out.append("...")
        out.append(lines[i])
        last = i
    if last != len(lines) - 1:
        out.append("...")
    return "\n".join(out)


def main(args: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("default", category=DeprecationWarning)
    try:
        try:
            driver = FvOptMain(args)
        except ValueError as exc:  # unknown pass, bad pass option
            raise UserError(str(exc)) from None
        except ArgSpecParseError as exc:  # a malformed -p string: message, pipeline, caret
            _, loc, where, _, why = [*str(exc).splitlines(), "", "", "", ""][:5]
            column = loc.rpartition(":")[2]
            detail = f" at column {column}" if column.isdigit() else ""
            raise UserError(f"bad pass pipeline '{where}'{detail}: "
                            f"{why.strip() or first_line(exc)}") from None
        driver.run()
    except UserError as exc:
        print(f"fv-opt: error: {exc}", file=sys.stderr)
        return 1
    except ParseError as exc:
        print(exc, file=sys.stderr)
        return 1
    except PassFailedException as exc:
        # Raised by a pass, not the verifier: no IR to mark, the message names the op.
        print(f"fv-opt: error: {exc}", file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):
            print(note, file=sys.stderr)
        return 1
    except VerifyException as exc:
        print(f"fv-opt: error: {' '.join(str(exc).split())}", file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):
            print(around_marker(note), file=sys.stderr)
        return 1
    except DiagnosticException as exc:
        print(exc, file=sys.stderr)
        for note in getattr(exc, "__notes__", ()):
            print(note, file=sys.stderr)
        return 1
    except OSError as exc:  # missing or unreadable input file
        print(f"fv-opt: error: {exc}", file=sys.stderr)
        return 1
    return 0


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
