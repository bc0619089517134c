"""fvir's frontend: ONNX models in, dnn IR plus weights out.

- `fvir.frontend.onnx`: the importer's API (`load_model`, `import_model` -> `ImportedModel`),
  built from `load` (file, checker, opset conversion), `graph` (the walk over the nodes),
  `translate/` (one translator per ONNX op) and `values` (what translators share); ONNX op
  semantics in numpy (constant folding, host ops) live in `fvir.onnxops`.
- `fvir.frontend.models`: model naming and input shapes for the CLIs.
- `fvir.ir.weights`: `WeightStore`, the arrays that `dnn.weight` ops name, and the
  numpy dtype <-> xDSL element type mapping.

Nothing is imported here, so that `fvir.ir.weights` stays cheap for the executors and
`onnx` is loaded only by code that imports models.
"""
