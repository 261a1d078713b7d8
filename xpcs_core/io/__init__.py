"""Result-file I/O: the APS 8-ID-I NeXus and legacy layouts (see docs/file-format.md).

Submodules are imported on first use so that ``import xpcs_core`` stays cheap:

- :mod:`xpcs_core.io.atomic` -- ``atomic_h5``: write an HDF5 file atomically.
- :mod:`xpcs_core.io.qmap_group` -- ``PartitionData``, ``QmapGroup`` and their HDF5 I/O.
- :mod:`xpcs_core.io.result` -- ``open_result`` / ``XpcsResult``: read either layout.
- :mod:`xpcs_core.io.writer` -- ``write_result``: write the NeXus layout.
- :mod:`xpcs_core.io.synthetic` -- synthetic result files for tests and the demo.
"""
