"""Devoscope's engine: numpy in, numpy/pandas out.

Nothing in this package imports streamlit except :mod:`devocore.ui_cache`.
"""
from devocore.errors import DevocoreError

__version__ = "0.1.0"
__all__ = ["DevocoreError", "__version__"]
