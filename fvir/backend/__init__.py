"""The simulator of the virtualized accelerator.

The meaning of every instruction, defined once (`semantics`: the opcode table over `dma`,
`conv` and `misc`, on a core's `state`), the tenant's bounds-checked DDR (`memory`), the
simulated program's errors (`faults`), program-order execution of streams and single-core
packages (`functional`), the host's layers (`host`) and tensors in DDR (`tensors`), the
functional pass of linked executables (`execute`), the cycle model
(`items`, `program`, `bank`, `timing`) and the multi-core, multi-tenant machine (`machine`,
with `report`, `trace` and `batch` presenting its runs). The int8 arithmetic and the frame
loop are the compiled extension `_engine` (`engine` drives it); without it, importing this
package is one `UserError` saying how to build it.
"""

from fvir.errors import UserError

try:
    from fvir.backend import _engine  # noqa: F401  (checked here, used by the modules below)
except ImportError as error:
    raise UserError(
        "fvir's compiled simulator (fvir/backend/_engine.c) is not built in this installation: "
        "reinstall with `pip install -e .`, which needs a C compiler and Python's headers"
    ) from error

from fvir.backend.faults import BufferFault, DependencyError, MemoryFault, ProgramError, SimError
from fvir.backend.functional import run_package, run_stream
from fvir.backend.host import HostInterpreter
from fvir.backend.memory import MODES, Binding, Memory, Mode
from fvir.backend.semantics import EXECUTE, CoreState, Tokens
from fvir.backend.tensors import read_tensor, write_tensor

__all__ = [
    "EXECUTE",
    "MODES",
    "Binding",
    "BufferFault",
    "CoreState",
    "DependencyError",
    "HostInterpreter",
    "Memory",
    "MemoryFault",
    "Mode",
    "ProgramError",
    "SimError",
    "Tokens",
    "read_tensor",
    "run_package",
    "run_stream",
    "write_tensor",
]
