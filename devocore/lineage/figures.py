"""A PNG of predicted over annotated lineage curves (PIL only)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from devocore import style
from devocore.lineage.config import LINEAGES


COLORS = {k: style.lineage_rgb(k) for k in (*LINEAGES, "total")}


def plot_png(pred: pd.DataFrame, truth: pd.DataFrame | None, path, title: str = "",
             size: tuple[int, int] = (1100, 560)):
    """Write a PNG of predicted (thin, dark) over annotated (broad, pale) curves per lineage, log axis.

    Drawn with PIL so no plotting library is needed. Returns the path.
    """
    from pathlib import Path

    from PIL import Image, ImageDraw

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = size
    left, right, top, bottom = 70, 130, 50, 50
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    frames = pred["frame"].to_numpy()
    fmax = max(float(frames.max()), float(truth["frame"].max()) if truth is not None else 0.0, 2.0)
    ymax = float(np.log1p(max(pred[list(LINEAGES)].to_numpy().max(),
                              truth[list(LINEAGES)].to_numpy().max() if truth is not None else 0, 1)))

    def xy(f, v):
        x = left + (np.asarray(f, float) - 1) / (fmax - 1) * (width - left - right)
        y = height - bottom - np.log1p(np.asarray(v, float)) / ymax * (height - top - bottom)
        return list(zip(x.tolist(), y.tolist()))

    draw.rectangle([left, top, width - right, height - bottom], outline=(120, 120, 120))
    for tick in (1, 2, 5, 10, 20, 50, 100, 200, 500):
        if np.log1p(tick) <= ymax:
            (_, y), = xy([1], [tick])
            draw.line([left - 4, y, width - right, y], fill=(230, 230, 230))
            draw.text((left - 34, y - 6), f"{tick}", fill=(60, 60, 60))
    for tick in np.linspace(1, fmax, 6):
        (x, _), = xy([tick], [0])
        draw.text((x - 10, height - bottom + 6), f"{int(tick)}", fill=(60, 60, 60))
    draw.text((width // 2 - 20, height - 22), "frame", fill=(0, 0, 0))
    draw.text((8, top - 20), "cells (log scale)", fill=(0, 0, 0))
    draw.text((left, 8), title, fill=(0, 0, 0))
    if truth is not None:
        for k in LINEAGES:
            pale = tuple(int(c * 0.35 + 255 * 0.65) for c in COLORS[k])
            draw.line(xy(truth["frame"], truth[k]), fill=pale, width=6)
    for i, k in enumerate(LINEAGES):
        color = COLORS[k]
        draw.line(xy(frames, pred[k]), fill=color, width=2)
        draw.line([width - right + 15, top + 10 + i * 20, width - right + 40, top + 10 + i * 20], fill=color, width=3)
        draw.text((width - right + 46, top + 4 + i * 20), k, fill=(0, 0, 0))
    if truth is not None:
        draw.text((width - right + 15, top + 160), "thin: predicted", fill=(0, 0, 0))
        draw.text((width - right + 15, top + 176), "broad, pale: annotated", fill=(0, 0, 0))
    image.save(path)
    return path
