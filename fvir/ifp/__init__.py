"""The instruction frame package: in-memory form (`package.py`) and the `.ifp` file format."""
