"""Static PNG figures (for the README and reports) drawn with Pillow, no plotting library needed.

The pages draw interactive plotly charts instead; these are for files.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from devocore import style

#: Colours per founder class of a cell table (AB, MS, ...): the colour of its lineage letter (devocore.style).
LINEAGE_COLOURS = {f: style.founder_hex(f) for f in style.FOUNDER_LETTER} | {"unknown": style.LINEAGE_COLOURS["unknown"]}


def colour_map(groups: Sequence[str]) -> dict[str, str]:
    """A colour per group: lineage colours for lineage letters and founder names, a palette otherwise.

    Example:
        >>> colour_map(["E", "AB"])["E"] == style.lineage_hex("E")
        True
    """
    return style.group_colour_map(groups)


def _font(size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def scatter_png(x, y, groups, path: str | Path, title: str = "", xlabel: str = "", ylabel: str = "",
                size: tuple[int, int] = (900, 650), point: int = 4, max_points: int = 20000,
                equal_axes: bool = False) -> Path:
    """Save a scatter plot coloured by ``groups`` (with a legend) as a PNG.

    Example:
        >>> import tempfile, os
        >>> p = scatter_png([0, 1, 2], [0, 1, 0], ["a", "b", "a"], os.path.join(tempfile.mkdtemp(), "s.png"))
        >>> p.exists()
        True
    """
    from PIL import Image, ImageDraw

    x, y = np.asarray(x, float), np.asarray(y, float)
    groups = np.asarray(groups).astype(str)
    if len(x) > max_points:
        keep = np.random.default_rng(0).choice(len(x), max_points, replace=False)
        x, y, groups = x[keep], y[keep], groups[keep]
    width, height = size
    left, right, top, bottom = 100, 170, 50, 60
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font, small = _font(18), _font(14)
    x0, x1 = (float(np.min(x)), float(np.max(x))) if len(x) else (0.0, 1.0)
    y0, y1 = (float(np.min(y)), float(np.max(y))) if len(y) else (0.0, 1.0)
    pad_x, pad_y = 0.05 * (x1 - x0 or 1), 0.05 * (y1 - y0 or 1)
    x0, x1, y0, y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y
    plot_w, plot_h = width - left - right, height - top - bottom
    if equal_axes:
        scale = min(plot_w / (x1 - x0), plot_h / (y1 - y0))
        plot_w, plot_h = int(scale * (x1 - x0)), int(scale * (y1 - y0))
    px = lambda v: left + (v - x0) / (x1 - x0) * plot_w  # noqa: E731
    py = lambda v: top + plot_h - (v - y0) / (y1 - y0) * plot_h  # noqa: E731
    draw.rectangle([left, top, left + plot_w, top + plot_h], outline="black")
    for k in range(5):  # ticks
        vx, vy = x0 + (x1 - x0) * k / 4, y0 + (y1 - y0) * k / 4
        draw.line([px(vx), top + plot_h, px(vx), top + plot_h + 5], fill="black")
        draw.text((px(vx), top + plot_h + 8), f"{vx:.3g}", fill="black", font=small, anchor="ma")
        draw.line([left - 5, py(vy), left, py(vy)], fill="black")
        draw.text((left - 8, py(vy)), f"{vy:.3g}", fill="black", font=small, anchor="rm")
    colours = colour_map(groups)
    order = np.random.default_rng(1).permutation(len(x))  # no group hidden under another
    for i in order:
        cx, cy = px(x[i]), py(y[i])
        draw.ellipse([cx - point, cy - point, cx + point, cy + point], fill=colours[groups[i]])
    draw.text((width / 2, 12), title, fill="black", font=font, anchor="ma")
    if equal_axes:  # drop the unused space below a squat plot
        height = max(top + plot_h + bottom, top + 24 * len(set(groups)) + 20)
        image = image.crop((0, 0, width, height))
        draw = ImageDraw.Draw(image)
    draw.text((left + plot_w / 2, height - 22), xlabel, fill="black", font=font, anchor="ma")
    label = Image.new("RGB", (plot_h, 24), "white")
    ImageDraw.Draw(label).text((plot_h / 2, 2), ylabel, fill="black", font=font, anchor="ma")
    image.paste(label.rotate(90, expand=True), (8, top))
    for k, (name, colour) in enumerate(colours.items()):
        ly = top + 10 + 24 * k
        draw.ellipse([width - right + 20, ly, width - right + 34, ly + 14], fill=colour)
        count = int((groups == name).sum())
        draw.text((width - right + 42, ly - 1), f"{style.founder_label(name)} ({count})", fill="black", font=small)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
