"""Entry point of the jax backend: one module per hook family (``hookspecs.HOOK_FAMILIES``).

No module listed here may import jax at import time; they call
:func:`xpcs_jax.runtime.jax_module` inside their hookimpls.
"""

from xpcs_jax.info import *  # noqa: F401,F403
from xpcs_jax.arrays import *  # noqa: F401,F403
from xpcs_jax.qmap import *  # noqa: F401,F403
from xpcs_jax.partition import *  # noqa: F401,F403
from xpcs_jax.binning import *  # noqa: F401,F403
from xpcs_jax.lsq import *  # noqa: F401,F403
from xpcs_jax.posterior import *  # noqa: F401,F403
from xpcs_jax.multitau import *  # noqa: F401,F403
from xpcs_jax.twotime import *  # noqa: F401,F403
