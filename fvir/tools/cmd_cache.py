"""Show or empty the package cache (compiled models kept on disk by `fv run` and `fv cloud`).

  info     the cache directory, its entries and their total size
  clear    delete every entry (the next run compiles again)

The directory is $FVIR_CACHE if set, else the user's cache directory (~/.cache/fvir on
Linux). An entry is a `.ifp` package keyed by the model's content, the hardware, the compiler
options and fvir's version and sources (fvir/cache.py); a corrupt or stale entry is rebuilt.
"""

from __future__ import annotations

import argparse
import json

HELP = "show (info) or empty (clear) the package cache of compiled models"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("action", choices=("info", "clear"), help="info or clear")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from fvir.cache import PackageCache
    from fvir.hw.config import format_size

    cache = PackageCache()
    if args.action == "clear":
        removed = cache.clear()
        out = {"path": str(cache.root), "removed": removed}
        print(json.dumps(out) if args.json else f"removed {removed} entries from {cache.root}")
        return 0
    info = cache.info()
    out = {"path": str(info.path), "entries": info.entries, "bytes": info.bytes}
    print(json.dumps(out) if args.json else
          f"{info.path}: {info.entries} entries, {format_size(info.bytes)}")
    return 0
