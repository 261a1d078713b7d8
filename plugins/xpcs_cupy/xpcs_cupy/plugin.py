"""Entry point of the cupy backend: gathers the hookimpls of each family module.

No module listed here may import cupy at import time; they call
:func:`xpcs_cupy.runtime.cupy_module` inside their hookimpls.
"""

from xpcs_cupy.arrays import *  # noqa: F401,F403  info, load, array ops
from xpcs_cupy.multitau import *  # noqa: F401,F403  streaming multi-tau
from xpcs_cupy.twotime import *  # noqa: F401,F403  two-time
from xpcs_cupy.qmap import *  # noqa: F401,F403  q-map, partition, binned means
