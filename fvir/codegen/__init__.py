"""Code generation: tiles become instruction frames, and frames a `Package`.

Below the passes that drive it (`tile-compile-frames`) and above the IR and the package format.
"""
