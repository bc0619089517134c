"""User-facing errors.

A `UserError` is a mistake in what the user gave us (a file, a flag, a model): the CLIs print
its message as one line on stderr and exit non-zero, never with a traceback. Internal bugs
stay ordinary exceptions so that they do show a traceback. `read_toml` reads a user's
scenario or sweep file with these errors.
"""

import tomllib
from pathlib import Path
from typing import Any


class UserError(Exception):
    """A problem with the user's input, reported as one clear line."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), for a
    one-line report of an error raised by code that writes several."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML file `path` (a `what`: "scenario", "sweep") as a dict; one line if it is
    missing, unreadable or not TOML."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"no such {what} file: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {what} {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML: {e}") from None
