"""Entry point of the cupy backend: one module per hook family (``hookspecs.HOOK_FAMILIES``).

No module listed here may import cupy at import time; they call
:func:`xpcs_cupy.runtime.cupy_module` inside their hookimpls.
"""

from xpcs_cupy.info import *  # noqa: F401,F403
from xpcs_cupy.arrays import *  # noqa: F401,F403
from xpcs_cupy.qmap import *  # noqa: F401,F403
from xpcs_cupy.partition import *  # noqa: F401,F403
from xpcs_cupy.binning import *  # noqa: F401,F403
from xpcs_cupy.lsq import *  # noqa: F401,F403
from xpcs_cupy.multitau import *  # noqa: F401,F403
from xpcs_cupy.twotime import *  # noqa: F401,F403
