"""Exposes fvir's dialects and passes to every xDSL tool through the `xdsl.universe` entry point.

Kept import-light: a failing import here would break `xdsl-opt` for the whole environment.
"""

from xdsl.universe import Universe

from fvir.ir import get_all_dialects
from fvir.passes import get_all_passes

FVIR_UNIVERSE = Universe(all_dialects=get_all_dialects(), all_passes=get_all_passes())
