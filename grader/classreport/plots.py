"""The report's plots: matplotlib figures rendered to SVG, embedded in the page.

SVG keeps the page one self-contained file that needs no script and no
network to show its plots, scales without blurring, prints well and keeps
its text searchable. Text stays text (``svg.fonttype: none``) and each
figure gets its own id salt, so several SVGs live in one page.
"""

from __future__ import annotations

import io
import re

from grader.classreport.data import ClassData, ReportError

GRADED_COLOR, APART_COLOR, MISSING_COLOR, LIMIT_COLOR, LINE_COLOR = "#3b6ea5", "#c0504d", "#a6a6a6", "#d9822b", "#222"
PENDING_COLOR = "#d4a72c"


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ReportError("the HTML report draws its plots with matplotlib, which is not installed: "
                          "pip install 'grader[report]'") from None
    matplotlib.use("Agg", force=True)  # no display: render to files only
    import matplotlib.pyplot as plt

    return plt


def _svg(fig, salt: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]  # inline: no XML declaration, no DOCTYPE
    # Each figure's ids get a prefix, so that two figures' clip paths never collide in one page.
    return re.sub(r'(id="|url\(#|href="#)', lambda m: f"{m.group(1)}{salt}-", text)


def _distribution(ax, values, bins, xlabel: str) -> None:
    ax.hist(values, bins=bins, color=GRADED_COLOR, edgecolor="white", label=f"graded ({len(values)})")
    if values:
        import statistics

        mean, median = statistics.fmean(values), statistics.median(values)
        ax.axvline(mean, color=LINE_COLOR, linestyle="--", linewidth=1, label=f"mean {mean:.3g}")
        ax.axvline(median, color=LINE_COLOR, linestyle=":", linewidth=1.4, label=f"median {median:.3g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("students")
    ax.set_xlim(bins[0], bins[-1])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=8, frameon=False)


def _apart(ax, apart: list[tuple[str, int, str]]) -> None:
    """The students kept out of the distribution, as bars of their own."""
    labels = [a[0] for a in apart]
    ax.bar(labels, [a[1] for a in apart], color=[a[2] for a in apart])
    for i, a in enumerate(apart):
        ax.annotate(str(a[1]), (i, a[1]), ha="center", va="bottom", fontsize=8)
    ax.set_title("not in the distribution", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.yaxis.get_major_locator().set_params(integer=True)


def _with_apart(plt, apart):
    fig, (ax, side) = plt.subplots(1, 2, figsize=(6.8, 2.6), gridspec_kw={"width_ratios": [3.4, 1]})
    _apart(side, apart)
    return fig, ax


def overall_plot(data: ClassData) -> str:
    """The class's total percent: a histogram of the graded, the others apart."""
    plt = _pyplot()
    percents, not_graded, missing = data.overall()
    apart = [("not\ngraded", not_graded - data.pending, APART_COLOR), ("nothing\nhanded in", missing, MISSING_COLOR)]
    if data.pending:  # an interrupted run: those it has not reached yet, apart from the failures
        apart.insert(1, ("not\nyet", data.pending, PENDING_COLOR))
    fig, ax = _with_apart(plt, apart)
    _distribution(ax, percents, [10 * i for i in range(11)], "total, percent of the maximum")
    ax.set_title("All exercises", fontsize=10)
    return _svg(fig, "overall")


def score_bins(scores: list[float], top: float) -> tuple[list[float], list[float] | None]:
    """The histogram's bin edges for scores out of ``top``, and the ticks: one bar per point,
    centred on it, when every score is a whole number (and there are at most 40 points);
    else ten bands of equal width."""
    if top <= 40 and float(top).is_integer() and all(float(x).is_integer() for x in scores):
        whole = int(top)
        return [k - 0.5 for k in range(whole + 2)], list(range(0, whole + 1, 1 if whole <= 20 else 2))
    return [top * i / 10 for i in range(11)], None


def exercise_plot(data: ClassData, index: int) -> str | None:
    """One exercise's scores (None when nobody was graded on it: the page says so in words)."""
    ex = data.exercises[index]
    if not ex.scores:
        return None
    plt = _pyplot()
    fig, ax = _with_apart(plt, [("not\ngraded", ex.not_graded + ex.pending, APART_COLOR),
                                ("missing", ex.missing, MISSING_COLOR)])
    top = ex.max_score or max(ex.scores, default=1.0) or 1.0
    bins, ticks = score_bins(ex.scores, top)
    _distribution(ax, ex.scores, bins, f"score out of {top:g}")
    if ticks is not None:
        ax.set_xticks(ticks)
    title = f"{ex.name}: {ex.title}" if ex.title else ex.name
    ax.set_title(title if len(title) <= 48 else title[:47] + "…", fontsize=10)
    return _svg(fig, f"ex{index}")


def checks_plot(data: ClassData) -> str | None:
    """The share of the graded students who failed each check, by exercise."""
    checks = [c for c in data.checks if c.graded]
    if not checks:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 0.8 + 0.24 * len(checks)))
    labels = [f"{c.exercise.split('_')[0]}  {c.check}" for c in checks]
    shares = [100 * c.share for c in checks]
    ax.barh(range(len(checks)), shares, color=APART_COLOR)
    ax.set_yticks(range(len(checks)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who failed it, percent of those graded")
    for i, c in enumerate(checks):
        ax.annotate(f"{c.failed}/{c.graded}", (shares[i], i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)
    return _svg(fig, "checks")


def time_plot(data: ClassData) -> str | None:
    """Seconds of grading per student, by exercise; the students who hit a limit stand out."""
    points = [(i, s.cells[ex.name].seconds, bool(s.cells[ex.name].limits))
              for i, ex in enumerate(data.exercises) for s in data.students
              if ex.name in s.cells and s.cells[ex.name].seconds is not None]
    if not points:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 0.9 + 0.35 * len(data.exercises)))
    import random

    jitter = random.Random(0)  # the same picture for the same data
    for hit, color, label in ((False, GRADED_COLOR, "within limits"), (True, LIMIT_COLOR, "hit a limit")):
        xs = [p[1] for p in points if p[2] == hit]
        ys = [p[0] + jitter.uniform(-0.25, 0.25) for p in points if p[2] == hit]
        if xs:
            ax.scatter(xs, ys, s=14, color=color, label=label, alpha=0.8)
    ax.set_yticks(range(len(data.exercises)), [e.name for e in data.exercises], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds to grade (per student and exercise)")
    ax.set_xlim(left=0)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3 - 0.1 / len(data.exercises)), ncol=2, fontsize=8,
              frameon=False)
    return _svg(fig, "time")


def all_plots(data: ClassData) -> dict:
    """Every plot of the report, as inline SVG text (None where there is nothing to draw)."""
    return {"overall": overall_plot(data),
            "exercises": [exercise_plot(data, i) for i in range(len(data.exercises))],
            "checks": checks_plot(data), "time": time_plot(data)}
