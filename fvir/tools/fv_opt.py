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
"""

import argparse
import sys
import warnings
from collections.abc import Sequence

from xdsl.dialects.builtin import ModuleOp
from xdsl.universe import Universe
from xdsl.utils.exceptions import DiagnosticException, ParseError, PassFailedException
from xdsl.xdsl_opt_main import xDSLOptMain

from fvir.errors import UserError
from fvir.hw.presets import DEFAULT_HW
from fvir.ir import get_all_dialects
from fvir.passes import get_all_passes
from fvir.passes.context import FvirContext
from fvir.tools.fv import OneLineParser
from fvir.tools.plugins import check_installed_plugins, load_plugin


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

    def apply_passes(self, prog: ModuleOp) -> None:
        super().apply_passes(prog)
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


def main(args: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("default", category=DeprecationWarning)
    try:
        try:
            driver = FvOptMain(args)
        except ValueError as exc:  # unknown pass, bad pass option
            raise UserError(str(exc)) from None
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
