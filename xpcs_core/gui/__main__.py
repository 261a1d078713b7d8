"""``python -m xpcs_core.gui [FILE|DIR ...] [--screenshot DIR] [--tab NAME ...]``."""

from __future__ import annotations

import sys

from xpcs_core.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
