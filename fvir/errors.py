"""User-facing errors.

A `UserError` is a mistake in what the user gave us (a file, a flag, a model): the CLIs print
its message as one line on stderr and exit non-zero, never with a traceback. Internal bugs
stay ordinary exceptions so that they do show a traceback.
"""


class UserError(Exception):
    """A problem with the user's input, reported as one clear line."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), for a
    one-line report of an error raised by code that writes several."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
