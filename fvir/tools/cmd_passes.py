"""List fvir's passes (from the pass registry) with the first line of each one's documentation.

Use `fv passes NAME` for a pass's full documentation, including its options, and
`fv passes --pipeline` for the static compiler's pipeline as an `fv-opt -p` string.
"""

import argparse
import dataclasses
import inspect

from fvir.errors import UserError

HELP = "list the compiler's passes and their documentation"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show the full documentation of this pass")
    parser.add_argument("--pipeline", action="store_true",
                        help="print the static compiler's pipeline (what `fv compile` and "
                        "`fv-opt -p fvir-compile` run) as an fv-opt -p string")


def run(args: argparse.Namespace) -> int:
    from fvir.passes import get_all_passes

    if args.pipeline:
        from fvir.passes.fvir_compile import pipeline_spec

        print(pipeline_spec())
        return 0
    passes = get_all_passes()
    if args.name is None:
        width = max((len(n) for n in passes), default=0)
        for name, factory in sorted(passes.items()):
            doc = inspect.getdoc(factory()) or ""
            print(f"{name:<{width}}  {doc.splitlines()[0] if doc else ''}")
        return 0
    if args.name not in passes:
        raise UserError(f"unknown pass '{args.name}' (run 'fv passes' for the list)")
    cls = passes[args.name]()
    print(f"{args.name}\n")
    print(inspect.getdoc(inspect.getmodule(cls)) or "")
    print()
    print(inspect.getdoc(cls) or "")
    fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    if fields:
        print("\nOptions:")
        for f in fields:
            print(f"  {f.name.replace('_', '-')} = {f.default!r}")
    return 0
