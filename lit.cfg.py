# -*- Python -*-
# lit configuration for fvir's FileCheck suite: `lit -v tests/filecheck`.
import os
import sys

import lit.formats

config.name = "fvir"
config.test_format = lit.formats.ShTest(execute_external=False)
# Only .mlir files are tests: pytest's .py files live in the same tree. A folder that holds
# Python-driven lit tests re-enables ".py" in its lit.local.cfg.
config.suffixes = [".mlir"]
config.test_source_root = os.path.dirname(__file__)
config.excludes = ["inputs", "Output", "fvir", "benchmarks", "examples", "docs", ".venv"]

# Find fv-opt / fv / filecheck next to the Python running lit, so `.venv/bin/lit` works
# without activating the virtual environment.
config.environment["PATH"] = os.pathsep.join(
    [os.path.dirname(sys.executable), config.environment.get("PATH", "")]
)
config.substitutions.append(("%examples", os.path.join(config.test_source_root, "examples")))
# Print generic, parse it back and check the custom form: catches printer/parser drift.
config.substitutions.append(
    ("FV_ROUNDTRIP",
     "fv-opt %s --split-input-file --print-op-generic | fv-opt --split-input-file | filecheck %s")
)
config.substitutions.append(
    ("FV_GENERIC_ROUNDTRIP",
     "fv-opt %s --split-input-file --print-op-generic | filecheck %s --check-prefix=CHECK-GENERIC")
)
