"""Devoscope's engine: numpy in, numpy/pandas out.

Nothing in this package imports streamlit except :mod:`devocore.ui_cache`.
"""
import os

from devocore.errors import DevocoreError

# FFmpeg (inside OpenCV) prints its own complaints ("moov atom not found") straight to the terminal, before
# our one clear line; devocore says what went wrong itself. Set OPENCV_FFMPEG_LOGLEVEL to see them again.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

__version__ = "0.1.0"
__all__ = ["DevocoreError", "__version__"]
