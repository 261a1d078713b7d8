"""``python -m xpcs_core.cli``."""

from xpcs_core.cli.main import main

main()
