"""Quantization support shared by `dnn-quantize`, its tests and reports.

- `rules`: the numeric rules of the int8 contract (docs/quantization.md): exponent choice,
  weight and bias quantization, average-pooling multipliers.
- `calibrate`: calibration inputs (seeded random or from .npy/.npz files) and the activation
  ranges observed by running the fp32 reference executor on them.
- `accuracy`: fp32 vs int8 comparison (cosine similarity, max error) and the zoo pipeline.

The pass itself (`fvir.passes.dnn_quantize`) rewrites the IR; the integer semantics it targets
are executed by `fvir.reference.int8`, independently of this package.
"""
