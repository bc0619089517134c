"""ONNX backend node-test conformance suite."""
