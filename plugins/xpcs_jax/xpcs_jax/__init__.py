"""xpcs backend on JAX + NumPyro. Importing this package does not import jax."""

__version__ = "0.1.0"
