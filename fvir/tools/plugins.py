"""Loading Python pass plugins from a file or module (`fv-opt --load-plugin`).

A plugin is any module holding one or more `xdsl.universe.Universe` objects; its dialects and
passes are registered next to fvir's. Installed packages use the `xdsl.universe` entry point
instead, which every xDSL tool reads.
"""

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from xdsl.universe import Universe

from fvir.errors import UserError


def _import(spec: str) -> ModuleType:
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec).resolve()
        if not path.is_file():
            raise UserError(f"cannot load plugin '{spec}': no such file")
        mod_spec = importlib.util.spec_from_file_location(f"fvir_plugin_{path.stem}", path)
        if mod_spec is None or mod_spec.loader is None:
            raise UserError(f"cannot load plugin '{spec}': not a Python file")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[mod_spec.name] = module
        mod_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def load_plugin(spec: str) -> list[Universe]:
    """Import `spec` (a module name or a path to a .py file) and return its universes."""
    try:
        module = _import(spec)
    except UserError:
        raise
    except Exception as exc:  # any failure inside user code is reported, not re-raised
        where = ""
        tb = exc.__traceback__
        while tb is not None:  # the innermost frame inside the plugin file names the line
            if tb.tb_frame.f_code.co_filename.endswith(Path(spec).name):
                where = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        if isinstance(exc, SyntaxError) and exc.lineno:
            where = f" (line {exc.lineno})"
        raise UserError(
            f"cannot load plugin '{spec}'{where}: {type(exc).__name__}: {exc}"
        ) from None
    universes = [v for v in vars(module).values() if isinstance(v, Universe)]
    if not universes:
        raise UserError(
            f"plugin '{spec}' defines no xdsl.universe.Universe "
            "(expected e.g. `UNIVERSE = Universe(all_passes={...})`)"
        )
    return universes


def check_installed_plugins() -> None:
    """Import every installed `xdsl.universe` entry point, naming the one that fails.

    xDSL's own discovery imports them too, but lets a broken package escape as a traceback, even
    for a run that never uses its passes.
    """
    for point in entry_points(group="xdsl.universe"):
        try:
            universe = point.load()
        except Exception as exc:  # any failure inside an installed package is reported
            raise UserError(
                f"cannot load installed plugin '{point.name}' ({point.value}): "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(universe, Universe):
            raise UserError(
                f"installed plugin '{point.name}' ({point.value}) is not an "
                "xdsl.universe.Universe"
            )
