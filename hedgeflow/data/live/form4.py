"""Insider trades from SEC Form 4 XML (``ownershipDocument``).

Each ``nonDerivativeTable/nonDerivativeTransaction`` gives a transaction code,
shares, price, acquired (A) or disposed (D), and the shares owned after it.
Booleans come as ``0``/``1`` (older schemas) or ``true``/``false`` (X0508).
Only open-market purchases (code P) and sales (code S) become InsiderTrades:
grants (A), option exercises (M) and shares withheld for tax (F) say nothing
about what an insider thinks the stock is worth.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from hedgeflow.errors import DataError
from hedgeflow.schemas import InsiderTrade

__all__ = ["MARKET_CODES", "Form4", "Form4Transaction", "insider_trades", "parse_form4"]

MARKET_CODES = frozenset({"P", "S"})


@dataclass(frozen=True)
class Form4Transaction:
    security_title: str | None
    transaction_date: str | None
    code: str
    shares: float | None
    price: float | None
    acquired: bool | None  # True for A, False for D
    shares_owned_after: float | None


@dataclass(frozen=True)
class Form4:
    issuer: str | None
    ticker: str | None
    owner: str | None
    title: str | None
    is_director: bool | None
    transactions: tuple[Form4Transaction, ...]


def _text(node: ET.Element | None, path: str) -> str | None:
    if node is None:
        return None
    found = node.find(path)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text.strip()


def _number(node: ET.Element | None, path: str) -> float | None:
    text = _text(node, path)
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _flag(text: str | None) -> bool | None:
    return None if text is None else text.lower() in ("1", "true")


def parse_form4(xml_text: str | bytes) -> Form4:
    """The owner and every non-derivative transaction of one Form 4 document."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise DataError(f"SEC sent a Form 4 that is not XML ({exc})") from None
    if root.tag != "ownershipDocument":
        raise DataError(f"SEC sent a {root.tag!r} document where a Form 4 was expected")
    owner = root.find("reportingOwner")
    relation = owner.find("reportingOwnerRelationship") if owner is not None else None
    rows = []
    for row in root.iterfind("nonDerivativeTable/nonDerivativeTransaction"):
        code = _text(row, "transactionCoding/transactionCode") or ""
        direction = _text(row, "transactionAmounts/transactionAcquiredDisposedCode/value")
        rows.append(Form4Transaction(
            security_title=_text(row, "securityTitle/value"),
            transaction_date=_text(row, "transactionDate/value"),
            code=code.upper(),
            shares=_number(row, "transactionAmounts/transactionShares/value"),
            price=_number(row, "transactionAmounts/transactionPricePerShare/value"),
            acquired=None if direction is None else direction.upper() == "A",
            shares_owned_after=_number(row, "postTransactionAmounts/sharesOwnedFollowingTransaction/value"),
        ))
    return Form4(
        issuer=_text(root, "issuer/issuerName"),
        ticker=_text(root, "issuer/issuerTradingSymbol"),
        owner=_text(owner, "reportingOwnerId/rptOwnerName"),
        title=_text(relation, "officerTitle"),
        is_director=_flag(_text(relation, "isDirector")),
        transactions=tuple(rows),
    )


def insider_trades(form: Form4, ticker: str, filing_date: dt.date) -> list[InsiderTrade]:
    """Open-market purchases and sales as InsiderTrades: shares and value negative for a sale."""
    out = []
    for t in form.transactions:
        if t.code not in MARKET_CODES or t.shares is None or t.acquired is None:
            continue
        shares = t.shares if t.acquired else -t.shares
        after = t.shares_owned_after
        out.append(InsiderTrade(
            ticker=ticker,
            issuer=form.issuer,
            name=form.owner,
            title=form.title,
            is_board_director=form.is_director,
            transaction_date=t.transaction_date,
            transaction_shares=shares,
            transaction_price_per_share=t.price,
            transaction_value=shares * t.price if t.price is not None else None,
            shares_owned_before_transaction=after - shares if after is not None else None,
            shares_owned_after_transaction=after,
            security_title=t.security_title,
            filing_date=filing_date.isoformat(),
        ))
    return out
