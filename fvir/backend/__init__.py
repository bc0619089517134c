"""The simulator of the virtualized accelerator.

So far its functional core: the meaning of every instruction (`semantics`, defined once for
every driver), the tenant's bounds-checked DDR (`memory`), the simulated program's errors
(`faults`), and program-order execution of one core's stream plus a single-core package runner
(`functional`). The multi-core machine, the dispatchers and the cycle model build on these.
"""

from fvir.backend.faults import BufferFault, DependencyError, MemoryFault, ProgramError, SimError
from fvir.backend.functional import read_tensor, run_package, run_stream, write_tensor
from fvir.backend.memory import MODES, Binding, Memory, Mode
from fvir.backend.semantics import EXECUTE, CoreState, Tokens

__all__ = [
    "EXECUTE",
    "MODES",
    "Binding",
    "BufferFault",
    "CoreState",
    "DependencyError",
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
