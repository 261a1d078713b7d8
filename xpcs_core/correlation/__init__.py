"""The correlator: raw detector frames -> multi-tau g2 and two-time maps in a result file.

:func:`correlate` runs the job (see :mod:`xpcs_core.correlation.driver`), :func:`regroup`
recomputes g2 with another partition from the per-pixel sums of a result. Formulas in
docs/physics.md ("Multi-tau correlation", "Two-time correlation"), file layout in
docs/file-format.md.
"""

from xpcs_core.correlation.api import MODES, correlate
from xpcs_core.correlation.regroup import regroup
from xpcs_core.correlation.report import CorrelationReport

__all__ = ["MODES", "CorrelationReport", "correlate", "regroup"]
