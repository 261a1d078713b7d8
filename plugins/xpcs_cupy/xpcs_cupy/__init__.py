"""xpcs backend on CuPy. Importing this package does not import cupy."""

__version__ = "0.1.0"
