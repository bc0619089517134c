"""fvir's xDSL dialects, registered lazily (imported on first use, as xDSL does)."""

from collections.abc import Callable

from xdsl.ir import Dialect


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """Dialect name -> factory that imports the dialect module on first use."""

    def get_dnn() -> Dialect:
        from fvir.ir.dnn import DNN

        return DNN

    def get_tile() -> Dialect:
        from fvir.ir.tile import Tile

        return Tile

    def get_vcore() -> Dialect:
        from fvir.ir.vcore import VCore

        return VCore

    def get_ifp() -> Dialect:
        from fvir.ir.ifp import IFP

        return IFP

    return {"dnn": get_dnn, "tile": get_tile, "vcore": get_vcore, "ifp": get_ifp}
