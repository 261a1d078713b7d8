"""Numerical kernels written once against an Array-API namespace ``xp``.

Each function takes the namespace (``numpy``, ``jax.numpy``, ``cupy``) as its first
argument and uses only operations all three provide, so one implementation serves every
backend. The jax backend jit-compiles them (shapes and flags static, every array and
scalar passed as an argument); CPU-only CI runs the cupy backend's code path through
NumPy.

- :mod:`xpcs_core.kernels.qmap` -- per-pixel q, phi, qx, qy (qr, qz) maps;
- :mod:`xpcs_core.kernels.partition` -- phi wrapping/folding, bin limits, edges and
  bit-reproducible bin assignment;
- :mod:`xpcs_core.kernels.binning` -- per-bin sums and means of images and stacks.
"""
