"""Headlines from the keyless RSS 2.0 headline feed (``/rss/2.0/headline?s={symbol}``).

The feed holds only the latest headlines, so a past window may lie before
everything it has: then the headlines of that window cannot be had and are
reported missing (``None``), never taken from after the as-of date.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from hedgeflow.errors import DataError, TransientDataError
from hedgeflow.schemas import CompanyNews

__all__ = ["Headline", "NEWS_PATH", "headlines_in_window", "parse_rss"]

NEWS_PATH = "/rss/2.0/headline"
NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Headline:
    published: dt.datetime
    title: str
    link: str | None
    source: str | None

    @property
    def day(self) -> dt.date:
        """The New York date it was published: the session day it belongs to."""
        return self.published.astimezone(NEW_YORK).date()


def parse_rss(text: str | bytes) -> list[Headline]:
    """Every dated item of an RSS 2.0 document, newest first."""
    if isinstance(text, bytes):
        head = text.lstrip()[:200].lower()
    else:
        head = text.lstrip()[:200].lower().encode()
    if head.startswith((b"<!doctype html", b"<html")):
        raise TransientDataError("the news feed answered with an HTML page instead of RSS")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise DataError(f"the news feed sent something that is not RSS ({exc})") from None
    channel = root.find("channel")
    if root.tag != "rss" or channel is None:
        raise DataError(f"the news feed sent a {root.tag!r} document, not RSS 2.0")
    source = (channel.findtext("title") or "").strip() or None
    items = []
    for item in channel.iterfind("item"):
        title, stamp = (item.findtext("title") or "").strip(), (item.findtext("pubDate") or "").strip()
        if not title or not stamp:
            continue
        try:
            published = parsedate_to_datetime(stamp)
        except (TypeError, ValueError):
            continue
        if published.tzinfo is None:
            published = published.replace(tzinfo=dt.UTC)
        items.append(Headline(published, title, (item.findtext("link") or "").strip() or None, source))
    return sorted(items, key=lambda h: h.published, reverse=True)


def headlines_in_window(
    items: list[Headline], ticker: str, start: dt.date, end: dt.date, today: dt.date
) -> list[CompanyNews] | None:
    """Headlines published from ``start`` to ``end`` (New York dates); ``None`` when the feed cannot tell.

    The feed cannot tell for a past ``end`` it does not reach back to: every
    item it holds is newer than ``end`` (or it holds none).
    """
    window = [h for h in items if start <= h.day <= end]
    if not window and end < today and (not items or min(h.day for h in items) > end):
        return None
    return [
        CompanyNews(ticker=ticker, title=h.title, source=h.source, date=h.published.astimezone(dt.UTC).isoformat(),
                    url=h.link)
        for h in window
    ]
