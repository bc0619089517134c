"""The oracle: reference executors of dnn modules in plain numpy, written to be obviously right.

`executor.run` runs float modules (ONNX semantics); `int8.run` runs quantized ones with the
integer semantics of docs/quantization.md (the bit-exact oracle of the accelerator) and their
float ops as the float executor does. Nothing is imported here, so that importing one executor
does not load the other.
"""
