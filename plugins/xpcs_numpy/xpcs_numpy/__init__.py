"""xpcs reference backend: NumPy + SciPy + emcee."""

__version__ = "0.1.0"
