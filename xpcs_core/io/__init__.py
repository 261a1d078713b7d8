"""All file I/O (docs/file-format.md): result files, q-map files, raw frames, masks.

Submodules are imported on first use so that ``import xpcs_core`` stays cheap:

- :mod:`xpcs_core.io.result` -- ``open_result`` / ``XpcsResult``: a facade over one reader
  per layout, :mod:`xpcs_core.io.nexus` (``NexusReader``) and :mod:`xpcs_core.io.legacy`
  (``LegacyReader``), both built on :mod:`xpcs_core.io.reader` and :mod:`xpcs_core.io.layout`
  (key tables, layout detection); :mod:`xpcs_core.io.metadata` -- metadata trees.
- :mod:`xpcs_core.io.writer` -- ``write_result``: write the NeXus layout (and ``_G2.hdf``).
- :mod:`xpcs_core.io.qmap_group` / :mod:`xpcs_core.io.qmap_file` -- the q-map group and
  q-map files (``read_qmap``, ``write_qmap``).
- :mod:`xpcs_core.io.raw` -- raw frame stacks for the correlator (HDF5, Eiger, .npy).
- :mod:`xpcs_core.io.atomic` / :mod:`xpcs_core.io.outputs` -- atomic, locked, checked
  outputs (docs/reliability.md); :mod:`xpcs_core.io._h5util` -- typed-error HDF5 helpers.
- :mod:`xpcs_core.io.synthetic` -- synthetic result files for tests and the demo.
"""
