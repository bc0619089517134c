"""fvir's xDSL dialects, registered lazily (imported on first use, as xDSL does)."""

from collections.abc import Callable

from xdsl.ir import Dialect


def get_all_dialects() -> dict[str, Callable[[], Dialect]]:
    """Dialect name -> factory that imports the dialect module on first use."""

    def get_dnn() -> Dialect:
        from fvir.dialects.dnn import DNN

        return DNN

    return {"dnn": get_dnn}
