"""Devoscope on Streamlit Community Cloud: the entrypoint to give Cloud (`cloud/streamlit_app.py`).

A thin wrapper that runs the same app (`app.py`, its router and every page) under the cloud deploy
profile (``DEVOSCOPE_PROFILE=cloud``, see :mod:`devocore.config`): uploads up to 200 MB, at most 2
Batch workers, server folders limited to the bundled examples, user models in a temporary folder,
the CPU. Its own `cloud/requirements.txt` (read by Cloud before the root one) installs the CPU
build of torch. Locally: `streamlit run cloud/streamlit_app.py` shows what the demo shows.
"""
import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# before devocore is imported: its limits are read once, from the environment
os.environ.setdefault("DEVOSCOPE_PROFILE", "cloud")
if str(ROOT) not in sys.path:  # Streamlit puts only this file's folder on the path
    sys.path.insert(0, str(ROOT))
if Path.cwd() != ROOT:  # Cloud starts in the repository root already; a local run may not
    os.chdir(ROOT)

from streamlit import config as _streamlit_config  # noqa: E402

from devocore import deploy  # noqa: E402
from devocore.config import streamlit_options  # noqa: E402

for _key, _value in streamlit_options().items():
    if _streamlit_config.get_option(_key) != _value:
        _streamlit_config.set_option(_key, _value)
deploy.setup_process()  # bounded malloc arenas, torch on the container's cores

try:
    runpy.run_path(str(ROOT / "app.py"), run_name="__main__")
finally:  # also after st.stop() and st.rerun(), which end a run by raising
    deploy.trim()
