"""The dashboard as text (the terminal), JSON, and a self-contained HTML page with inline PNG plots."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import Any

from hedgeflow.stats.compute import StatsReport

__all__ = ["figures_png", "render_html", "render_markdown", "render_text"]

TITLE = "Hedgeflow performance"


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.1f} %"


def _s(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f} s"


def _headline(report: StatsReport) -> list[tuple[str, str]]:
    return [
        ("runs", str(report.runs)),
        ("run time p50", _s(report.p50_run_time_s)),
        ("run time p95", _s(report.p95_run_time_s)),
        ("run time max", _s(report.max_run_time_s)),
        ("success rate", _pct(report.success_rate)),
        ("degraded rate", _pct(report.degraded_rate)),
        ("error rate", _pct(report.error_rate)),
        ("cache hit rate", _pct(report.cache_hit_rate)),
        ("model calls", str(report.model_calls)),
        ("tokens", str(report.tokens)),
        ("cost", f"${report.cost_usd:.4f}"),
    ]


def render_text(report: StatsReport) -> str:
    """The figures as aligned plain text: totals, then one line per day and per analyst."""
    since = f" since {report.since.isoformat()}" if report.since else ""
    lines = [f"{TITLE}{since}"]
    lines += [f"  {name:<15} {value}" for name, value in _headline(report)]
    if report.days:
        lines.append(f"{'day':<12} {'runs':>5} {'p50':>9} {'success':>8} {'calls':>7} {'tokens':>9} {'cost':>10}")
        lines += [
            f"{d.day.isoformat():<12} {d.runs:>5} {_s(d.p50_run_time_s):>9} {_pct(d.success_rate):>8} "
            f"{d.model_calls:>7} {d.tokens:>9} {'$' + format(d.cost_usd, '.4f'):>10}"
            for d in report.days
        ]
    if report.analysts:
        width = max(len(a.analyst) for a in report.analysts)
        lines.append(f"{'analyst':<{width}} {'signals':>7} {'p50':>9} {'p95':>9} {'max':>9}")
        lines += [
            f"{a.analyst:<{width}} {a.signals:>7} {_s(a.p50_s):>9} {_s(a.p95_s):>9} {_s(a.max_s):>9}"
            for a in report.analysts
        ]
    return "\n".join(lines)


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figures_png(report: StatsReport, dpi: int = 90) -> dict[str, str]:
    """Plot title -> base64 PNG: run times over time, their distribution, per-day usage, analyst latency."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out: dict[str, str] = {}
    if not report.runs:
        return out
    figure = Figure(figsize=(8, 3.2), dpi=dpi, layout="constrained")
    axes = figure.subplots()
    # dates go through matplotlib's unit converters, which its stubs do not know: hence the ignores
    axes.plot(report.run_started_at, report.run_times_s, "o-",  # type: ignore[arg-type]
              markersize=3, linewidth=0.8, color="#1f5fa8")
    axes.axhline(report.p95_run_time_s, color="#c0392b", linestyle="--", linewidth=1, label="p95")
    axes.set_ylabel("seconds")
    axes.legend(loc="upper left", fontsize=8)
    axes.grid(alpha=0.3)
    out["Run time per run"] = _png(figure)

    figure = Figure(figsize=(8, 3.2), dpi=dpi, layout="constrained")
    axes = figure.subplots()
    axes.hist(report.run_times_s, bins=min(30, max(5, report.runs // 2)), color="#1f5fa8", alpha=0.8)
    for q, value in (("p50", report.p50_run_time_s), ("p95", report.p95_run_time_s)):
        axes.axvline(value, color="#c0392b" if q == "p95" else "#27ae60", linestyle="--", label=q)
    axes.set_xlabel("run time (s)")
    axes.set_ylabel("runs")
    axes.legend(fontsize=8)
    out["Run time distribution"] = _png(figure)

    figure = Figure(figsize=(8, 3.2), dpi=dpi, layout="constrained")
    left = figure.subplots()
    days = [d.day for d in report.days]
    left.bar(days, [d.model_calls for d in report.days],  # type: ignore[arg-type]
             color="#8e44ad", alpha=0.7, label="model calls")
    left.set_ylabel("model calls")
    right = left.twinx()
    right.plot(days, [d.cost_usd for d in report.days], "o-",  # type: ignore[arg-type]
               color="#d35400", label="cost (USD)")
    right.set_ylabel("USD")
    left.grid(alpha=0.3)
    out["Model calls and cost per day"] = _png(figure)

    if report.analysts:
        names = [a.analyst for a in report.analysts]
        figure = Figure(figsize=(8, max(2.5, 0.25 * len(names) + 1)), dpi=dpi, layout="constrained")
        axes = figure.subplots()
        positions = list(range(len(names)))
        axes.barh(positions, [a.p95_s for a in report.analysts], color="#e67e22", alpha=0.6, label="p95")
        axes.barh(positions, [a.p50_s for a in report.analysts], color="#1f5fa8", label="p50")
        axes.set_yticks(positions, names, fontsize=8)
        axes.set_xlabel("seconds per signal")
        axes.legend(fontsize=8)
        out["Analyst latency"] = _png(figure)
    return out


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f3f3f3}.tiles{display:flex;flex-wrap:wrap;gap:8px}"
    ".tile{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:120px}"
    ".tile b{display:block;font-size:1.4em}img{max-width:100%;display:block;margin:0.5em 0 1.5em}"
)


def render_html(report: StatsReport) -> str:
    """One self-contained page: no script, no external resource; plots are data: PNGs."""
    since = f" since {html.escape(report.since.isoformat())}" if report.since else ""
    tiles = "".join(
        f'<div class="tile" data-metric="{html.escape(n)}">{html.escape(n)}<b>{html.escape(v)}</b></div>'
        for n, v in _headline(report)
    )
    plots = "".join(
        f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
        for title, data in figures_png(report).items()
    )
    days = _table(
        ["day", "runs", "p50 run time", "success", "model calls", "tokens", "cost"],
        [[d.day.isoformat(), str(d.runs), _s(d.p50_run_time_s), _pct(d.success_rate), str(d.model_calls),
          str(d.tokens), f"${d.cost_usd:.4f}"] for d in report.days],
    )
    analysts = _table(
        ["analyst", "signals", "p50", "p95", "max"],
        [[a.analyst, str(a.signals), _s(a.p50_s), _s(a.p95_s), _s(a.max_s)] for a in report.analysts],
    )
    empty = "" if report.runs else "<p>No stored run in this window.</p>"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{TITLE}{since}</h1>{empty}"
        f'<div class="tiles">{tiles}</div>{plots}<h2>Per day</h2>{days}<h2>Per analyst</h2>{analysts}</body></html>'
    )


def render_markdown(report: StatsReport) -> str:
    """The page for a Prefect artifact: the figures as a table and the plots as inline images."""
    lines = [f"# {TITLE}", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {n} | {v} |" for n, v in _headline(report)]
    for title, data in figures_png(report, dpi=70).items():
        lines += ["", f"## {title}", "", f"![{title}](data:image/png;base64,{data})"]
    return "\n".join(lines)
