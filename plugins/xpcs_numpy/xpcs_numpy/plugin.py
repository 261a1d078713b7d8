"""Entry point of the numpy backend: gathers the hookimpls of each family module."""

from xpcs_numpy.arrays import *  # noqa: F401,F403  info + array ops
from xpcs_numpy.multitau import *  # noqa: F401,F403  streaming multi-tau
from xpcs_numpy.twotime import *  # noqa: F401,F403  two-time
from xpcs_numpy.qmap import *  # noqa: F401,F403  q-map, partition, binned means
from xpcs_numpy.fitting import *  # noqa: F401,F403  g2 least squares + emcee posteriors
