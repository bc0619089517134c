"""fvir's frontend: ONNX models in, dnn IR plus weights out.

- `fvir.frontend.onnx`: the importer (`load_model`, `import_model` -> `ImportedModel`).
- `fvir.ir.weights`: `WeightStore`, the arrays that `dnn.weight` ops name, and the
  numpy dtype <-> xDSL element type mapping.

Nothing is imported here, so that `fvir.ir.weights` stays cheap for the executors and
`onnx` is loaded only by code that imports models.
"""
