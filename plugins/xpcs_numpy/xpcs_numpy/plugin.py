"""Entry point of the numpy backend: one module per hook family (``hookspecs.HOOK_FAMILIES``)."""

from xpcs_numpy.info import *  # noqa: F401,F403
from xpcs_numpy.arrays import *  # noqa: F401,F403
from xpcs_numpy.qmap import *  # noqa: F401,F403
from xpcs_numpy.partition import *  # noqa: F401,F403
from xpcs_numpy.binning import *  # noqa: F401,F403
from xpcs_numpy.lsq import *  # noqa: F401,F403
from xpcs_numpy.posterior import *  # noqa: F401,F403
from xpcs_numpy.multitau import *  # noqa: F401,F403
from xpcs_numpy.twotime import *  # noqa: F401,F403
