"""`fv`: the fvir driver.

Each subcommand lives in its own module `fvir/tools/cmd_<name>.py` exposing `HELP` (one line),
`configure(parser)` and `run(args) -> int`; the modules import their heavy dependencies inside
`run`, so `fv --help` stays fast. A `UserError` (bad file, flag or model) is printed as one line
on stderr with exit code 1; argparse mistakes also give one line, with exit code 2.
"""

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from fvir import __version__
from fvir.errors import UserError

# Subcommands, in the order `fv --help` lists them.
COMMANDS = ("import", "compile", "link", "run", "cloud", "sweep", "cache", "inspect", "passes",
            "zoo")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as a single line. A subcommand whose docstring
    is a flag table (`flag_table`) prints that table as its help instead of argparse's own
    list of options, so that each option is listed once."""

    flag_table = False

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def format_help(self) -> str:
        if not self.flag_table:
            return super().format_help()
        formatter = self._get_formatter()
        formatter.add_usage(self.usage, self._actions, self._mutually_exclusive_groups)
        formatter.add_text(self.description)
        formatter.add_text("  -h, --help          show this help and exit")
        formatter.add_text(self.epilog)
        return formatter.format_help()


def has_flag_table(doc: str | None) -> bool:
    """Does a subcommand's docstring document its flags itself ("  --flag  what it does")?"""
    return any(line.startswith(("  -", "  --")) for line in (doc or "").splitlines())


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="fv",
        description="fvir: compile DNNs into relocatable instruction frame packages, link them "
        "to the cores a tenant has, and simulate virtualized multi-core FPGA accelerators.",
    )
    parser.add_argument("--version", action="version", version=f"fvir {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        module = importlib.import_module(f"fvir.tools.cmd_{name}")
        cmd = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        cmd.flag_table = has_flag_table(module.__doc__)
        module.configure(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except UserError as exc:
        print(f"fv {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fv {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (`fv ... | head`): not an error. Point stdout at devnull so
        # that the interpreter's final flush cannot raise again; 141 is a shell's SIGPIPE exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def entry() -> None:
    """Console-script entry point."""
    # fvir's numpy work is many medium-sized matmuls (calibration, simulated CONVs); on the
    # small shared machines it runs on, a multi-threaded BLAS oversubscribes the cores and
    # runs several times slower and erratically, so one thread is the default. It must be set
    # before numpy loads; an explicit OPENBLAS_NUM_THREADS from the user wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.exit(main())


if __name__ == "__main__":
    entry()
