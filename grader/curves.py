"""Small numeric series a check attaches to its result (a loss curve), and their inline SVG chart.

A grader calls ``check.curve(title, {"yours": losses, "torch.optim.Adam": theirs})``
(:meth:`grader.plugin.Checker.curve`); the result carries the cleaned curve
(:attr:`grader.results.CheckResult.curves`), the JSON reports and the batch's
``reports/<student>.json`` carry it as data, and the notebook's HTML report
and the class report's drill-down draw it with :func:`figures` (self-contained
SVG: no script, no matplotlib, every label escaped).

The numbers are untrusted (a student's losses), so a curve is cleaned on the
trusted side when it is attached, and again whenever it is read back from a
file (:func:`from_stored`). Neither ever raises:

- at most :data:`MAX_CURVES` curves per check and :data:`MAX_SERIES` series per
  curve (the rest are dropped);
- a series that is not a 1-D sequence of real numbers (strings, nested or ragged
  lists, objects, complex numbers, more than :data:`MAX_INPUT` values) is dropped;
- a value that is not finite is kept as a gap (``null``; counted in
  ``not_finite``), a finite one beyond ±:data:`CLIP` is clipped (counted in
  ``clipped``); values are rounded to 6 significant digits;
- a series longer than :data:`MAX_POINTS` is reduced to the means of consecutive
  runs of ``every`` values (at most :data:`MAX_POINTS` points).

A curve as stored: ``{"title", "x_label", "y_label", "series": [{"label", "values",
"every", "not_finite", "clipped"}]}``; point ``i`` of a series stands for steps
``i*every + 1`` to ``(i+1)*every``.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import numpy as np

from grader.text import one_line

MAX_CURVES = 4  # per check
MAX_SERIES = 4  # per curve
MAX_POINTS = 500  # per series, as stored and drawn
MAX_INPUT = 10_000_000  # values a series may have before it is reduced; beyond: dropped
CLIP = 1e12  # a loss beyond this has diverged; the chart's scale must stay finite
_COLORS = ("#0969da", "#cf222e", "#1a7f37", "#8250df")
_DASHES = ("", "5 3", "2 2", "8 3 2 3")  # told apart without colour, too


def _text(value: Any, limit: int) -> str:
    try:
        text = str(value)
    except Exception:  # a str() that fails: a grader's mistake, never worth a crash
        return "?"
    return one_line(text if len(text) <= limit else text[:limit - 1] + "\u2026", limit)


def _series(label: Any, values: Any, every: int = 1) -> dict | None:
    """One cleaned series, or None when ``values`` are not a 1-D sequence of real numbers."""
    try:
        size = values.size if isinstance(values, np.ndarray) else len(values)
        if not 0 < size <= MAX_INPUT:
            return None
        if isinstance(values, (list, tuple)) and any(v is None for v in values):
            values = [math.nan if v is None else v for v in values]  # a gap, as stored
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.dtype.kind not in "biuf":  # strings, objects, complex: not a curve
            return None
        arr = arr.astype(np.float64)
    except Exception:
        return None
    finite = np.isfinite(arr)
    not_finite = int(arr.size - finite.sum())
    clipped = int((np.abs(arr[finite]) > CLIP).sum())
    arr = np.where(finite, np.clip(arr, -CLIP, CLIP), np.nan)
    every = max(int(every), 1)
    if arr.size > MAX_POINTS:
        k = math.ceil(arr.size / MAX_POINTS)
        padded = np.full(math.ceil(arr.size / k) * k, np.nan)
        padded[:arr.size] = arr
        runs = padded.reshape(-1, k)
        ok = np.isfinite(runs)
        counts = ok.sum(axis=1)
        sums = np.where(ok, runs, 0.0).sum(axis=1)
        arr = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        every *= k
    return {"label": _text(label, 60) or "?",
            "values": [float(f"{v:.6g}") if math.isfinite(v) else None for v in arr.tolist()],
            "every": every, "not_finite": not_finite, "clipped": clipped}


def make_curve(title: Any, series: Any, x_label: Any = "step", y_label: Any = "loss") -> dict | None:
    """A cleaned curve from ``series`` (a mapping label -> values, or (label, values) pairs),
    or None when no series is left. Never raises."""
    try:
        pairs = list(series.items()) if hasattr(series, "items") else list(series)
    except Exception:
        return None
    cleaned = []
    for pair in pairs[:MAX_SERIES]:
        try:
            label, values = pair
        except Exception:
            continue
        s = _series(label, values)
        if s is not None:
            cleaned.append(s)
    if not cleaned:
        return None
    return {"title": _text(title, 120), "x_label": _text(x_label, 40), "y_label": _text(y_label, 40),
            "series": cleaned}


def from_stored(curves: Any) -> list[dict]:
    """The curves of a stored result (a JSON report, possibly edited), cleaned again; [] for anything else."""
    if not isinstance(curves, list):
        return []
    found = []
    for c in curves[:MAX_CURVES]:
        if not isinstance(c, dict) or not isinstance(c.get("series"), list):
            continue
        cleaned = []
        for s in c["series"][:MAX_SERIES]:
            if not isinstance(s, dict) or not isinstance(s.get("values"), list) or len(s["values"]) > MAX_POINTS:
                continue
            every = s.get("every")
            every = every if isinstance(every, int) and 0 < every <= MAX_INPUT else 1
            one = _series(s.get("label", "?"), s["values"], every)
            if one is None:
                continue
            for key in ("not_finite", "clipped"):  # what the first cleaning counted, kept
                n = s.get(key)
                if isinstance(n, int) and 0 <= n <= MAX_INPUT:
                    one[key] = max(one[key], n)
            cleaned.append(one)
        if cleaned:
            found.append({"title": _text(c.get("title", ""), 120), "x_label": _text(c.get("x_label", "step"), 40),
                          "y_label": _text(c.get("y_label", "loss"), 40), "series": cleaned})
    return found


# -- drawing ---------------------------------------------------------------------

def _num(v: float) -> str:
    return f"{v:.4g}"


def svg(curve: dict, width: int = 360, height: int = 150) -> str:
    """A cleaned curve (:func:`make_curve`, :func:`from_stored`) as an inline SVG line chart."""
    series = curve["series"]
    left, right, top, bottom = 52, 10, 20, 30
    legend = 14 * len(series)
    total = height + legend
    pw, ph = width - left - right, height - top - bottom
    ys = [v for s in series for v in s["values"] if v is not None]
    lo, hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    steps = max(len(s["values"]) * s["every"] for s in series)
    x0, x1 = (1.0, float(steps)) if steps > 1 else (0.5, 1.5)

    def px(i: int, every: int) -> float:
        x = i * every + (every + 1) / 2
        return left + pw * (x - x0) / (x1 - x0)

    def py(v: float) -> float:
        return top + ph * (hi - v) / (hi - lo)

    title = escape(curve.get("title", ""), quote=True)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="grader-curve" width="{width}" height="{total}" '
           f'viewBox="0 0 {width} {total}" role="img" aria-label="{title}" font-family="sans-serif" '
           f'font-size="10"><title>{title}</title>',
           f'<text x="{left}" y="12" font-size="11" font-weight="bold" fill="#24292f">{title}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#d0d7de"/>']
    for v in (hi, (hi + lo) / 2, lo):
        y = py(v)
        out.append(f'<line x1="{left - 3}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#eaeef2"/>'
                   f'<text x="{left - 5}" y="{y + 3:.1f}" text-anchor="end" fill="#57606a">{_num(v)}</text>')
    base = top + ph
    out.append(f'<text x="{left}" y="{base + 12}" text-anchor="middle" fill="#57606a">{_num(x0) if steps > 1 else 1}'
               f'</text><text x="{left + pw}" y="{base + 12}" text-anchor="end" fill="#57606a">{steps}</text>'
               f'<text x="{left + pw / 2:.1f}" y="{base + 12}" text-anchor="middle" fill="#57606a">'
               f'{escape(curve.get("x_label", ""), quote=True)}</text>'
               f'<text x="10" y="{top + ph / 2:.1f}" text-anchor="middle" fill="#57606a" '
               f'transform="rotate(-90 10 {top + ph / 2:.1f})">{escape(curve.get("y_label", ""), quote=True)}</text>')
    for n, s in enumerate(series):
        color, dash = _COLORS[n % len(_COLORS)], _DASHES[n % len(_DASHES)]
        style = f' stroke-dasharray="{dash}"' if dash else ""
        label = escape(s["label"], quote=True)
        runs, run = [], []
        for i, v in enumerate(s["values"]):
            if v is None:  # a gap: the line breaks there
                runs.append(run)
                run = []
            else:
                run.append((px(i, s["every"]), py(v)))
        runs.append(run)
        shapes = []
        for r in runs:
            if len(r) == 1:
                shapes.append(f'<circle cx="{r[0][0]:.1f}" cy="{r[0][1]:.1f}" r="1.8" fill="{color}"/>')
            elif r:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in r)
                shapes.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.6"'
                              f'{style}/>')
        out.append(f'<g class="grader-series" data-label="{label}">{"".join(shapes)}</g>')
        notes = []
        if s["every"] > 1:
            notes.append(f"each point the mean of {s['every']} steps")
        if s["not_finite"]:
            notes.append(f"{s['not_finite']} not finite, not drawn")
        if s["clipped"]:
            notes.append(f"{s['clipped']} clipped to ±{CLIP:g}")
        y = height + 14 * n + 4
        out.append(f'<line x1="{left}" y1="{y - 3}" x2="{left + 18}" y2="{y - 3}" stroke="{color}" '
                   f'stroke-width="2"{style}/><text x="{left + 24}" y="{y}" fill="#24292f">{label}'
                   + (f' ({escape(", ".join(notes))})' if notes else "") + "</text>")
    out.append("</svg>")
    return "".join(out)


def figures(curves: Any) -> str:
    """Every curve of a check (as stored, cleaned again here) as inline SVG, side by side; "" for none."""
    style = "display:inline-block;vertical-align:top;margin:0.2em 1em 0.2em 0"
    return "".join(f'<div class="grader-curve-figure" style="{style}">{svg(c)}</div>' for c in from_stored(curves))
