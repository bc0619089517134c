"""Reference executor: runs a `dnn` module with its weights in plain numpy (fp32).

It is the oracle later backends (the simulator) are checked against, so it is written to be
obviously right rather than fast. `HOST_OPS` (in `host`) is the numpy semantics of `dnn.host`.
"""

from fvir.reference.executor import run
from fvir.reference.host import HOST_OPS

__all__ = ["HOST_OPS", "run"]
