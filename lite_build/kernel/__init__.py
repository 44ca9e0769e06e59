"""What each environment's kernel needs: the Pyodide runtime (runtime.py), the kernel's own
wheels and the per-environment wheel (wheels.py), an environment's files (environments.py),
precompiled bytecode (bytecode.py) and the kernel snapshot (snapshot.py)."""
