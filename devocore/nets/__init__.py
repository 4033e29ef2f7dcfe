"""Network definitions (nn.Module only) and the architecture table.

Each module here registers builders with :func:`architecture`; a model's card
names its architecture and the keyword arguments to build it, so a folder of
weights plus ``card.json`` is enough to rebuild the model.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

ARCHITECTURES: dict[str, Callable] = {}


def architecture(name: str) -> Callable[[Callable], Callable]:
    """Decorator: register ``builder(**config) -> nn.Module`` under ``name``."""

    def register(builder: Callable) -> Callable:
        ARCHITECTURES[name] = builder
        return builder

    return register


def build(name: str, **config):
    """Build the architecture ``name`` with ``config``.

    Raises:
        devocore.errors.ModelError naming the valid options.
    """
    from devocore.errors import ModelError

    if not ARCHITECTURES or name not in ARCHITECTURES:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
    if name not in ARCHITECTURES:
        raise ModelError(f"Unknown architecture '{name}'. Available options are: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](**config)
