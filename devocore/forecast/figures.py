"""A forecast drawn into a PNG without plotly (PIL only), and the time axis' unit read from its column name."""
from __future__ import annotations

import re

import numpy as np

from devocore.forecast.baselines import BASELINES
from devocore.forecast.evaluate import ForecastResult
from devocore.forecast.wave import WAVE


COLORS = {"history": (90, 90, 90), "truth": (0, 0, 0), "LSTM": (214, 39, 40), "persistence": (31, 119, 180),
          "seasonal naive": (44, 160, 44), "linear AR": (148, 103, 189), WAVE: (255, 127, 14)}

# a time column's name -> its unit: time_s, t_s, seconds, time_sec, "time (s)", time_min, t_h, ...
_UNITS = {"s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
          "ms": "ms", "msec": "ms", "milliseconds": "ms",
          "min": "min", "mins": "min", "minute": "min", "minutes": "min",
          "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h"}
_UNIT_NAME = re.compile(r"^(?:(?:time|t)(?:[ _\-]+[(\[]?|\s*[(\[])\s*(?P<unit>[a-z]+)\s*[)\]]?"
                        r"|(?P<alone>seconds|minutes|hours))$")


def time_unit(column) -> str | None:
    """The unit of a time column, read from its name (``time_s`` -> ``"s"``), or None when the name gives none.

    Example:
        >>> time_unit("time_s"), time_unit("t_s"), time_unit("seconds"), time_unit("time (min)")
        ('s', 's', 's', 'min')
        >>> time_unit("time"), time_unit("frame"), time_unit("timestamp"), time_unit("ts")
        (None, None, None, None)
    """
    match = _UNIT_NAME.match(str(column).strip().lower())
    if not match:
        return None
    return _UNITS.get(match.group("unit") or match.group("alone"))


def time_axis_title(column) -> str:
    """A time axis' title: ``"time (s)"`` for a column named like ``time_s``, else the column's own name.

    Example:
        >>> time_axis_title("time_s"), time_axis_title("frame")
        ('time (s)', 'frame')
    """
    unit = time_unit(column)
    return f"time ({unit})" if unit else str(column)


def render_png(result: ForecastResult, path, origin: int | None = None, size: tuple[int, int] = (1200, 460)):
    """Draw one test forecast (left) and the MAE per horizon step (right) into a PNG (PIL only).

    ``origin`` is a test origin (default: the one in the middle of the test part). Returns the path.
    """
    from PIL import Image, ImageDraw

    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image, "RGBA")
    horizon = result.config.horizon
    origins = np.sort(result.forecasts["origin"].unique())
    origin = int(origins[len(origins) // 2] if origin is None else origin)
    rows = result.forecasts[result.forecasts["origin"] == origin]
    history = result.history.iloc[max(0, origin - 3 * horizon): origin + 1]

    def panel(box, xs, ys_list, title, xlabel):
        left, top, right, bottom = box
        x_all = np.concatenate(xs)
        y_all = np.concatenate([np.asarray(y, float) for y in ys_list])
        y_all = y_all[np.isfinite(y_all)]
        x0, x1 = float(x_all.min()), float(x_all.max())
        y0, y1 = float(y_all.min()), float(y_all.max())
        pad = 0.05 * (y1 - y0 or 1.0)
        y0, y1 = y0 - pad, y1 + pad
        draw.rectangle(box, outline=(160, 160, 160))
        draw.text((left, top - 16), title, fill="black")
        draw.text((left, bottom + 4), f"{x0:.3g}", fill="black")
        draw.text((right - 40, bottom + 4), f"{x1:.3g}", fill="black")
        draw.text(((left + right) // 2 - 30, bottom + 4), xlabel, fill="black")
        draw.text((left + 3, top + 2), f"{y1:.3g}", fill="black")
        draw.text((left + 3, bottom - 14), f"{y0:.3g}", fill="black")

        def to_px(x, y):
            return (left + (np.asarray(x, float) - x0) / (x1 - x0 or 1.0) * (right - left),
                    bottom - (np.asarray(y, float) - y0) / (y1 - y0) * (bottom - top))
        return to_px

    def line(to_px, x, y, color, width=2, dashed=False):
        px, py = to_px(x, y)
        points = [(float(a), float(b)) for a, b in zip(px, py) if np.isfinite(b)]
        if dashed:
            for i in range(0, len(points) - 1, 2):
                draw.line(points[i: i + 2], fill=color, width=width)
        elif len(points) > 1:
            draw.line(points, fill=color, width=width)

    # left: history, truth, forecasts
    t_hist, t_fc = history["time"].to_numpy(), rows["time"].to_numpy()
    methods = [m for m in (*BASELINES, WAVE) if m in rows.columns]
    values = [history["value"], rows["truth"], rows["LSTM_low"], rows["LSTM_high"], *[rows[m] for m in methods]]
    to_px = panel((60, 40, width // 2 - 20, height - 70), [t_hist, t_fc], values,
                  f"{result.config.target}: forecast from one test origin (H = {horizon})",
                  time_axis_title(result.split.get("time_column", "time")))
    lx, ly = to_px(t_fc, rows["LSTM_low"])
    hx, hy = to_px(t_fc, rows["LSTM_high"])
    draw.polygon([(float(a), float(b)) for a, b in zip(lx, ly)] + [(float(a), float(b)) for a, b in
                                                                     zip(hx[::-1], hy[::-1])],
                 fill=(214, 39, 40, 50))
    line(to_px, t_hist, history["value"], COLORS["history"])
    line(to_px, t_fc, rows["truth"], COLORS["truth"], 2, dashed=True)
    for method in methods:
        line(to_px, t_fc, rows[method], COLORS[method], 2, dashed=True)
    line(to_px, t_fc, rows["LSTM"], COLORS["LSTM"], 3)

    # right: MAE per step
    steps = result.per_step
    ys = [g["mae"].to_numpy() for _, g in steps.groupby("method")]
    to_px = panel((width // 2 + 60, 40, width - 20, height - 70), [steps["step"].to_numpy()], ys,
                  "MAE per horizon step on the test part", "step")
    for method, group in steps.groupby("method", sort=False):
        if np.isfinite(group["mae"]).any():
            line(to_px, group["step"], group["mae"], COLORS[method], 3 if method == "LSTM" else 2)

    # legend
    x = 60
    for name, color in COLORS.items():
        if name in BASELINES + (WAVE,) and name not in methods:
            continue
        draw.line([(x, height - 25), (x + 25, height - 25)], fill=color, width=3)
        draw.text((x + 30, height - 32), name, fill="black")
        x += 40 + 7 * len(name)
    draw.rectangle([(x, height - 32), (x + 25, height - 18)], fill=(214, 39, 40, 50))
    draw.text((x + 30, height - 32), "LSTM 10-90 %", fill="black")
    image.save(path)
    return path
