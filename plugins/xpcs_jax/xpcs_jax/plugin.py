"""Entry point of the jax backend: gathers the hookimpls of each family module.

No module listed here may import jax at import time; they call
:func:`xpcs_jax.runtime.jax_module` inside their hookimpls.
"""

from xpcs_jax.arrays import *  # noqa: F401,F403  info, load, array ops
from xpcs_jax.multitau import *  # noqa: F401,F403  streaming multi-tau
from xpcs_jax.twotime import *  # noqa: F401,F403  two-time
from xpcs_jax.qmap import *  # noqa: F401,F403  q-map, partition, binned means
from xpcs_jax.fitting import *  # noqa: F401,F403  g2 least squares + NUTS posteriors
