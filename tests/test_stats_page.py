"""``hedgeflow stats`` end to end: stored runs -> the command -> the HTML page, opened in headless Chromium.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright with that
executable; the page must show its title, the hand-computed figures, and every
plot loaded (an image with a natural size), with no request leaving the page.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from deployments.cli import main
from hedgeflow.store import RunRow, SignalRow, get_engine

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _store_runs() -> None:
    """Four runs of 2, 4, 6 and 30 s over two days; three completed, one failed; 8 model calls, $0.04."""
    base = {
        "request": {"tickers": ["AAPL"]}, "window_start": dt.date(2025, 1, 2), "window_end": dt.date(2025, 3, 31),
        "model": "openai:gpt-4.1", "input_tokens": 1000, "output_tokens": 100, "cached_tokens": 0,
        "cost_usd": 0.01, "cache_hit_rate": 0.5, "degraded_count": 0, "errors": {},
    }
    signal = {
        "ticker": "AAPL", "as_of": dt.date(2025, 3, 31), "signal": "bullish", "confidence": 50.0, "reasoning": "r",
        "degraded": False, "degraded_reason": None, "source": "model", "model": "openai:gpt-4.1", "model_calls": 1,
        "input_tokens": 0, "output_tokens": 0, "cached_tokens": 0, "cost_usd": 0.0, "latency_s": 0.0,
    }
    runs, signals = [], []
    for n, (hours_ago, seconds, status) in enumerate([(30, 2, "completed"), (26, 4, "completed"), (3, 6, "completed"),
                                                       (1, 30, "failed")]):
        start = NOW - dt.timedelta(hours=hours_ago)
        runs.append({**base, "id": f"run-{n}", "status": status, "model_calls": 2, "started_at": start,
                     "finished_at": start + dt.timedelta(seconds=seconds)})
        signals.append({**signal, "run_id": f"run-{n}", "analyst": "warren_buffett", "elapsed_s": 1.0 + n})
    with get_engine().begin() as connection:
        connection.execute(RunRow.__table__.insert(), runs)
        connection.execute(SignalRow.__table__.insert(), signals)


def test_stats_command_prints_and_writes_json(capsys: pytest.CaptureFixture[str]) -> None:
    _store_runs()
    assert main(["stats", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    # by hand: times 2, 4, 6, 30 -> p50 = 5; p95: h = 3 * 0.95 = 2.85 -> 6 + 0.85 * 24 = 26.4
    assert figures["runs"] == 4 and figures["p50_run_time_s"] == 5.0
    assert figures["p95_run_time_s"] == pytest.approx(26.4) and figures["max_run_time_s"] == 30.0
    assert figures["success_rate"] == 0.75 and figures["error_rate"] == 0.25 and figures["model_calls"] == 8
    assert main(["stats", "--since", "2h"]) == 0  # only the failed run
    out = capsys.readouterr().out
    assert "runs            1" in out and "success rate    0.0 %" in out


def test_stats_bad_since_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--since", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert "malformed --since 'yesterday'" in err and err.count("\n") == 1


@pytest.mark.slow
def test_html_page_in_headless_chromium(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium at /usr/bin/chromium (apt-get install chromium)")
    _store_runs()
    page_file = tmp_path / "stats.html"
    assert main(["stats", "--html", str(page_file)]) == 0
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            outside: list[str] = []
            page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            assert page.title() == "Hedgeflow performance"
            assert page.locator("h1").inner_text() == "Hedgeflow performance"
            tile = {t.get_attribute("data-metric"): t.locator("b").inner_text() for t in page.locator(".tile").all()}
            assert tile["runs"] == "4" and tile["run time p50"] == "5.00 s" and tile["run time p95"] == "26.40 s"
            assert tile["success rate"] == "75.0 %" and tile["error rate"] == "25.0 %" and tile["model calls"] == "8"
            sizes = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
            assert [s[0] for s in sizes] == ["Run time per run", "Run time distribution", "Model calls and cost per day",
                                             "Analyst latency"]
            assert all(complete and width > 100 and height > 100 for _, complete, width, height in sizes), sizes
            assert page.locator("table").nth(1).inner_text().count("warren_buffett") == 1
            shot = page.screenshot(full_page=True, path=str(tmp_path / "stats.png"))
            assert len(shot) > 10_000
            assert outside == []
        finally:
            browser.close()
