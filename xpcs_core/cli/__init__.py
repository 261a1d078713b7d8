"""The ``xpcs`` command line. Subcommands live in their own modules, loaded lazily."""
