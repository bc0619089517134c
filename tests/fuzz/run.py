"""The long fuzz run: `python tests/fuzz/run.py --count 10000` (docs/robustness.md).

Generates `--count` inputs spread over the five kinds (tests/fuzz/generators.py), runs each
through its entry point in a forked child with a timeout (tests/fuzz/harness.py), and prints
the kinds x outcomes table, the distinct causes of every traceback, crash and hang with the
scope they fall in, and the warnings that reached the user. `--json FILE` writes every
non-ok outcome too; a case is reproduced by its kind, seed and index (`--only KIND --start I
--count 1 --keep`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from generators import KINDS, build_fixtures, case_for, describe
from harness import OUTCOMES, run_cases

# Share of the inputs per kind (the ONNX and TOML kinds cost the most per case).
SHARE = {"onnx": 0.2, "mlir": 0.3, "package": 0.2, "toml": 0.15, "cli": 0.15}


def warm_up() -> None:
    """Import what the entry points import lazily, once, before forking."""
    import onnxruntime  # noqa: F401

    import fvir.backend.machine
    import fvir.cloud.experiment
    import fvir.compiler
    import fvir.reference.check
    import fvir.reference.int8  # noqa: F401
    from fvir.tools.fv import build_parser
    from fvir.tools.fv_opt import FvOptMain  # noqa: F401

    build_parser()


def table(counts: dict[str, Counter], extra: dict[str, Counter]) -> str:
    cols = [*OUTCOMES, "total", "leaks warning", "multi-line"]
    rows = ["| kind | " + " | ".join(cols) + " |", "|" + " --- |" * (len(cols) + 1)]
    total: Counter = Counter()
    ext: Counter = Counter()
    for kind in KINDS:
        c, e = counts[kind], extra[kind]
        total.update(c)
        ext.update(e)
        rows.append(f"| {kind} | " + " | ".join(str(c[o]) for o in OUTCOMES) +
                    f" | {sum(c.values())} | {e['warning']} | {e['multi']} |")
    rows.append("| **all** | " + " | ".join(str(total[o]) for o in OUTCOMES) +
                f" | {sum(total.values())} | {ext['warning']} | {ext['multi']} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", choices=KINDS)
    parser.add_argument("--start", type=int, default=0, help="first case index per kind")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--keep", action="store_true", help="keep the cases' directories")
    parser.add_argument("--timeout", type=float, default=None, metavar="S",
                        help="seconds before a case counts as a hang (default: each case's "
                             "own, 30 s; raise it on a loaded machine, where a model run that "
                             "takes 5 s alone can take longer)")
    args = parser.parse_args()

    fixtures = build_fixtures(Path(tempfile.mkdtemp(prefix="fvir-fuzz-fixtures-")))
    warm_up()
    kinds = [args.only] if args.only else list(KINDS)
    per_kind = {k: (args.count if args.only else round(args.count * SHARE[k])) for k in kinds}
    cases = [case_for(k, args.seed, i, fixtures)
             for k in kinds for i in range(args.start, args.start + per_kind[k])]
    if args.timeout is not None:
        cases = [dataclasses.replace(c, timeout=args.timeout) for c in cases]
    counts: dict[str, Counter] = defaultdict(Counter)
    extra: dict[str, Counter] = defaultdict(Counter)
    causes: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    warned: dict[str, int] = Counter()
    bad = []
    started = time.monotonic()
    for n, out in enumerate(run_cases(cases, fixtures, jobs=args.jobs, keep=args.keep), 1):
        counts[out.case.kind][out.outcome] += 1
        if out.leaks_warning:
            extra[out.case.kind]["warning"] += 1
            warned[out.leaks_warning.split(" (")[0][:100]] += 1
        if out.multi_line:
            extra[out.case.kind]["multi"] += 1
        if out.outcome in ("traceback", "hang", "crash"):
            causes[(out.outcome, out.owner, out.cause)].append(describe(out.case))
        if out.outcome != "ok" or out.leaks_warning:
            bad.append({"case": json.loads(describe(out.case)), "outcome": out.outcome,
                        "owner": out.owner, "cause": out.cause, "warning": out.leaks_warning,
                        "multi_line": out.multi_line, "stderr": out.stderr[-500:]})
        if n % 500 == 0:
            print(f"[{time.monotonic() - started:7.1f}s] {n}/{len(cases)}", file=sys.stderr,
                  flush=True)
    print(f"{len(cases)} inputs, {time.monotonic() - started:.0f} s, seed {args.seed}\n")
    print(table(counts, extra))
    if causes:
        print("\ntracebacks, crashes and hangs by cause (count, scope, example):")
        for (outcome, owner, cause), examples in sorted(causes.items(),
                                                         key=lambda kv: -len(kv[1])):
            print(f"  {len(examples):5d}  {outcome:9s} [{owner}] {cause}\n         e.g. "
                  f"{examples[0]}")
    if warned:
        print("\nwarnings that reached the user:")
        for text, count in warned.most_common():
            print(f"  {count:5d}  {text}")
    if args.json:
        Path(args.json).write_text(json.dumps(bad, indent=1))
    mine = sum(len(v) for (o, owner, _), v in causes.items() if owner == "harden")
    return 1 if mine else 0


if __name__ == "__main__":
    sys.exit(main())
