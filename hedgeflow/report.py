"""Plain renderings of a RunResult: terminal tables, artifact rows and markdown."""

from __future__ import annotations

from hedgeflow.schemas import RunResult

__all__ = ["decision_rows", "orders_markdown", "problem_lines", "render_text", "signal_rows", "totals_line", "usage_rows"]


def signal_rows(result: RunResult) -> list[dict[str, object]]:
    return [
        {
            "ticker": s.ticker,
            "analyst": s.analyst,
            "signal": s.signal,
            "confidence": s.confidence,
            "source": s.source,
            "degraded": s.degraded,
            "model": s.model,
            "tokens": s.usage.input_tokens + s.usage.output_tokens,
            "seconds": round(s.elapsed_s, 3),
        }
        for s in result.signals
    ]


def usage_rows(result: RunResult) -> list[dict[str, object]]:
    """Per analyst: model calls, tokens, cost, seconds and degraded signals."""
    rows = []
    for analyst in sorted({s.analyst for s in result.signals} | set(result.usage_by_analyst)):
        usage = result.usage_by_analyst.get(analyst)
        mine = [s for s in result.signals if s.analyst == analyst]
        rows.append({
            "analyst": analyst,
            "calls": usage.calls if usage else 0,
            "input_tokens": usage.input_tokens if usage else 0,
            "output_tokens": usage.output_tokens if usage else 0,
            "cached_tokens": usage.cached_tokens if usage else 0,
            "cost_usd": round(usage.cost_usd, 6) if usage else 0.0,
            "seconds_max": round(max((s.elapsed_s for s in mine), default=0.0), 3),
            "degraded": sum(1 for s in mine if s.degraded),
        })
    return rows


def decision_rows(result: RunResult) -> list[dict[str, object]]:
    """Each order with its price (the risk manager's last close), notional and the cash after it.

    Cash runs through the orders in turn, as ai-hedge-fund's book does: a buy
    pays quantity x price, a sell receives it, a short receives the proceeds
    less the margin it posts (proceeds x margin requirement), a cover pays the
    buy-back and gets that margin back. A hold changes nothing.
    """
    prices = {limit.ticker: limit.price for limit in result.limits}
    margin = result.request.portfolio.margin_requirement
    cash = result.request.portfolio.cash
    rows: list[dict[str, object]] = []
    for order in result.orders:
        price = prices.get(order.ticker)
        notional = order.quantity * price if price is not None else None
        if notional is not None:
            cash += {
                "buy": -notional,
                "sell": notional,
                "short": notional * (1 - margin),
                "cover": -notional * (1 - margin),
            }.get(order.action, 0.0)
        rows.append({
            "ticker": order.ticker,
            "action": order.action,
            "quantity": order.quantity,
            "price": price,
            "notional": notional,
            "cash_after": round(cash, 2),
            "confidence": order.confidence,
            "reasoning": order.reasoning,
        })
    return rows


def totals_line(result: RunResult) -> str:
    """Tokens, cost, cache hits and time in one line."""
    u, c = result.usage, result.cache
    seconds = (result.finished_at - result.started_at).total_seconds()
    return (
        f"tokens {u.input_tokens} in / {u.output_tokens} out ({u.cached_tokens} cached), cost ${u.cost_usd:.4f}, "
        f"cache hits {c.hits}/{c.lookups} ({c.hit_rate:.0%}), {seconds:.2f} s"
    )


def _totals(result: RunResult) -> list[str]:
    u = result.usage
    return [
        f"status {result.status}; window {result.start} to {result.end}",
        f"model calls {u.calls}, tokens in {u.input_tokens} / out {u.output_tokens} / cached {u.cached_tokens}, cost ${u.cost_usd:.4f}",
        f"degraded signals {result.degraded_count}; cache hit rate {result.cache.hit_rate:.0%} "
        f"({result.cache.hits}/{result.cache.lookups}: memory {result.cache.memory_hits}, storage {result.cache.storage_hits})",
    ]


def orders_markdown(result: RunResult) -> str:
    lines = ["# Orders", "", "| ticker | action | quantity | confidence | reasoning |", "|---|---|---|---|---|"]
    lines += [f"| {o.ticker} | {o.action} | {o.quantity} | {o.confidence:.0f} | {o.reasoning} |" for o in result.orders]
    if result.errors:
        lines += ["", "## Errors", ""] + [f"- **{t}**: {e}" for t, e in result.errors.items()]
    lines += ["", "## Totals", ""] + [f"- {line}" for line in _totals(result)]
    return "\n".join(lines)


def problem_lines(result: RunResult) -> list[str]:
    """What the run could not deliver as asked, one line each: analysts without a signal, rules
    orders in place of the model's, optional datasets missing, and cached answers' savings."""
    lines = [f"{key}: no signal - {why}" for key, why in sorted(result.analyst_errors.items())]
    lines += [f"{ticker}: rules order - {why}" for ticker, why in sorted(result.degraded_orders.items())]
    lines += [f"{key}: missing, analysed without it - {why}" for key, why in sorted(result.data_gaps.items())]
    saved = result.cache_savings
    if saved.calls:
        lines.append(f"cache saved {saved.calls} model calls, {saved.input_tokens + saved.output_tokens:,} tokens, "
                     f"${saved.cost_usd:.4f}")
    return lines


def render_text(result: RunResult, show_reasoning: bool = False) -> str:
    """A readable terminal report: signals per ticker, then orders and totals."""
    out: list[str] = []
    for ticker in result.request.tickers:
        rows = [s for s in result.signals if s.ticker == ticker]
        if ticker in result.errors:
            out.append(f"{ticker}: FAILED - {result.errors[ticker]}")
            continue
        out.append(f"{ticker} (as of {result.end})")
        out.append(f"  {'analyst':<24}{'signal':<10}{'conf':>6}  source")
        for s in rows:
            tag = "rules (degraded)" if s.degraded else s.source
            out.append(f"  {s.analyst:<24}{s.signal:<10}{s.confidence:>6.1f}  {tag}")
            if show_reasoning:
                out.append(f"      {s.reasoning}")
        out.append("")
    out.append("Decisions")
    out.append(f"  {'ticker':<8}{'action':<7}{'quantity':>9}{'price':>11}{'notional':>13}{'cash after':>14}{'conf':>7}")
    for row in decision_rows(result):
        price, notional = row["price"], row["notional"]
        out.append(
            f"  {row['ticker']:<8}{row['action']:<7}{row['quantity']:>9}"
            f"{_money(price):>11}{_money(notional):>13}{_money(row['cash_after']):>14}{row['confidence']:>7.1f}"
        )
    out.append("")
    out.extend(problem_lines(result))
    out.append(f"status {result.status}; window {result.start} to {result.end}; degraded signals {result.degraded_count}")
    out.append(totals_line(result))
    return "\n".join(out)


def _money(value: object) -> str:
    return f"{value:,.2f}" if isinstance(value, (int, float)) else "-"
