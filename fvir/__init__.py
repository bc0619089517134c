"""fvir: a compiler framework and simulator for virtualized multi-core FPGA DNN accelerators.

The layers follow the data flow (see docs/ARCHITECTURE.md): `frontend` (ONNX -> dnn IR),
`dialects` and `passes` (the static compiler), `hw` and `isa` (hardware model and instruction
set), `runtime` (dynamic linker), `backend` (simulator), `cloud` (hypervisor), `reference`
(independent numpy oracle), `zoo` (built-in models) and `tools` (the `fv` and `fv-opt` CLIs).
"""

__version__ = "0.1.0"
