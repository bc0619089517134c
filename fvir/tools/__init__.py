"""Command-line entry points: `fv` (the framework's driver) and `fv-opt` (xDSL's opt driver)."""
