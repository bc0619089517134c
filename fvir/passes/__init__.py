"""fvir's passes: the single registry of pass name -> lazily imported `ModulePass` class.

Every pass lives in its own module `fvir/passes/<pass_name>.py` (the kebab-case name with
underscores) and is documented by its module and class docstrings; `fv passes` lists them. The
whole static pipeline is one more pass, `fvir-compile`, whose module defines it.
"""

from collections.abc import Callable
from importlib import import_module

from xdsl.passes import ModulePass

# pass name -> class name, in `fvir.passes.<pass name with underscores>`.
_PASSES: dict[str, str] = {
    "dnn-canonicalize": "DnnCanonicalizePass",
    "dnn-fold-batchnorm": "DnnFoldBatchnormPass",
    "dnn-fuse-activation": "DnnFuseActivationPass",
    "dnn-partition": "DnnPartitionPass",
    "dnn-quantize": "DnnQuantizePass",
    "dnn-tile": "DnnTilePass",
    "dnn-unroll-rnn": "DnnUnrollRnnPass",
    "ifp-link": "IfpLinkPass",
    "tile-compile-frames": "TileCompileFramesPass",
    "fvir-compile": "FvirCompilePass",
}


def _factory(pass_name: str, class_name: str) -> Callable[[], type[ModulePass]]:
    def load() -> type[ModulePass]:
        module = import_module(f"fvir.passes.{pass_name.replace('-', '_')}")
        return getattr(module, class_name)

    return load


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name -> factory returning the pass class (imported on first use)."""
    return {name: _factory(name, cls) for name, cls in _PASSES.items()}
