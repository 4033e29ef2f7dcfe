"""Devoscope: the Streamlit entry point (`streamlit run app.py`).

A router over the pages in pages/; each page is one file, thin, calling devocore.
"""
from pathlib import Path

import streamlit as st

import devocore
from devocore import ui_cache
from devocore.config import ASSETS
from pages.common import available_views

ROOT = Path(__file__).resolve().parent

# A local PNG: a ":material/...:" page icon makes the browser fetch the tab icon from fonts.gstatic.com.
# (Material icons elsewhere are drawn with the font Streamlit serves itself.)
st.set_page_config(page_title="Devoscope", page_icon=str(ASSETS / "icon.png"), layout="wide")

pages = [st.Page(str(ROOT / "pages" / "home.py"), title="Home", icon=":material/home:", default=True)]
pages += [st.Page(str(ROOT / "pages" / f"{stem}.py"), title=title, icon=icon, url_path=stem)
          for stem, title, icon in available_views()]
navigation = st.navigation(pages)

with st.sidebar:
    st.caption(f"Devoscope {devocore.__version__}")
    choice = ui_cache.device_choice()
    st.caption(f"Device: **{choice.name}** — {choice.reason}")
    # the models a user runs; the GAN's frozen FID feature space is a measuring instrument, not one of them
    models = [m for m in ui_cache.models_table() if m.get("task") != "fid_encoder"]
    if models:
        st.caption("Models: " + ", ".join(f"{m['name']} v{m['version']}" for m in models))
    else:
        st.caption("Models: none found yet")

navigation.run()
