"""``hedgeflow stats``: the performance dashboard from the stored runs (no Prefect server needed)."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "parse_since", "run"]

EXIT_USAGE = 2
_AGO = re.compile(r"^(\d+)([dh])$")


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``YYYY-MM-DD`` (midnight UTC), an ISO time, or ``Nd`` / ``Nh`` ago."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if match := _AGO.match(text.strip()):
        amount, unit = int(match[1]), match[2]
        return now - (dt.timedelta(days=amount) if unit == "d" else dt.timedelta(hours=amount))
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"malformed --since {text!r}; use YYYY-MM-DD, an ISO time, 7d or 12h") from None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment


def add_parser(commands: Any) -> None:
    """Register ``stats`` on the CLI's sub-command parsers."""
    stats = commands.add_parser("stats", help="run time, success, cache and cost figures from the stored runs")
    stats.add_argument("--since", type=parse_since, metavar="D", help="only runs started since D (YYYY-MM-DD, 7d, 12h)")
    stats.add_argument("--json", action="store_true", help="print the figures as JSON")
    stats.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained page with plots")


def run(args: argparse.Namespace) -> int:
    """Print the dashboard; exit 2 with one line when the HTML file cannot be written."""
    if args.html is not None and not args.html.parent.is_dir():
        print(f"hedgeflow: error: --html: directory {args.html.parent} does not exist", file=sys.stderr)
        return EXIT_USAGE
    from hedgeflow.stats import load_samples, render_html, render_text, summarize
    from hedgeflow.store import get_engine

    report = summarize(load_samples(get_engine(), args.since), since=args.since)
    if args.html is not None:
        args.html.write_text(render_html(report), encoding="utf-8")
    print(report.model_dump_json(indent=2) if args.json else render_text(report))
    return 0
