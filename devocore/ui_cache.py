"""The one module of devocore that imports streamlit: cached loaders for pages.

Cached functions take hashable names; pages never build models themselves.
"""
from __future__ import annotations

import logging
import sys

import streamlit as st

from devocore import registry
from devocore.device import choose_device

#: How many times each model was actually loaded (not served from the cache);
#: the load test reads it to prove models are shared between sessions.
LOAD_COUNTS: dict[str, int] = {}

#: One line per real model load goes to the server's stderr (the load test counts them).
LOAD_LOG_PREFIX = "devocore model load:"
log = logging.getLogger(__name__)
if not log.handlers:
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


# Every cache is bounded, so a long-running server's memory stays bounded: models by count (the shipped
# ones and a few of the user's), data by count and age.
@st.cache_resource(show_spinner="Loading the model...", max_entries=8)
def model(name: str, device: str | None = None):
    """A model by name, loaded once per server process, in eval mode."""
    device = device or choose_device().name
    LOAD_COUNTS[name] = LOAD_COUNTS.get(name, 0) + 1
    log.info("%s %s on %s (load %d in this process)", LOAD_LOG_PREFIX, name, device, LOAD_COUNTS[name])
    return registry.load_model(name, device)


@st.cache_resource
def device_choice():
    """The torch device this server uses, chosen once."""
    return choose_device()


@st.cache_data(show_spinner=False, max_entries=16, ttl=60)
def models_table(task: str | None = None) -> list[dict]:
    """Rows describing the models found, for the sidebar and menus."""
    return [{"name": m.name, "task": m.task, "target": m.card.get("target"), "source": m.source,
             "version": m.card.get("version", "?")}
            for m in registry.list_models(task)]


def data(func):
    """``st.cache_data`` for engine functions that return data (arrays, tables)."""
    return st.cache_data(show_spinner=False, max_entries=32, ttl=3600)(func)


def resource(func):
    """``st.cache_resource`` for engine objects shared by every session."""
    return st.cache_resource(show_spinner=False, max_entries=16)(func)
