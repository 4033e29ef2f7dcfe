"""One module per CLI command; see :mod:`devocore.cli` for the naming rule."""
