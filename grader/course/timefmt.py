"""Dates and durations as a course writes them, read strictly.

A date must say which instant it is: an ISO 8601 time with an offset
(``2026-09-21T23:59:00+02:00``, ``...Z``) or a local time followed by an IANA
zone name (``2026-09-21 23:59 Europe/Paris``). A date without a timezone is an
error, never a guess; so is a local time that a daylight-saving change makes
ambiguous (it happens twice) or impossible (it never happens).
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc


class TimeError(ValueError):
    """A date or a duration that cannot be read (the message says why, for the user)."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Paris``), or a clear error."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeError(f"unknown time zone {name!r} (an IANA name such as Europe/Paris or America/New_York; "
                        f"on Windows: pip install tzdata)") from None


def _check_local(local: datetime, tz: ZoneInfo, text: str) -> datetime:
    """``local`` (naive) in ``tz``, refusing a wall time that a clock change skips or repeats."""
    early, late = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        # Round trip through UTC: a time in a gap comes back different; a repeated one is in both folds.
        back = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back != local:
            raise TimeError(f"{text!r} does not exist in {tz.key} (the clocks go forward then): pick another time")
        raise TimeError(f"{text!r} happens twice in {tz.key} (the clocks go back then): write it with its offset, "
                        f"such as {early.isoformat()} or {late.isoformat()}")
    return early


def parse_datetime(value, what: str = "date") -> datetime:
    """An aware datetime (in UTC) from YAML's value: a datetime with a tzinfo, or a string as above."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TimeError(f"{what} {value.isoformat(sep=' ')} has no timezone: add an offset "
                            f"({value.isoformat()}+02:00) or a zone name ('{value.isoformat(sep=' ')} Europe/Paris')")
        return value.astimezone(UTC)
    if isinstance(value, date):
        raise TimeError(f"{what} {value.isoformat()} has no time and no timezone: write "
                        f"'{value.isoformat()} 23:59 Europe/Paris' or {value.isoformat()}T23:59:00+02:00")
    if not isinstance(value, str) or not value.strip():
        raise TimeError(f"{what}: expected a date with a timezone, got {value!r}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        parsed = None
    if parsed is not None:
        return parse_datetime(parsed, what)  # a naive one is refused there, with the fix
    head, _, name = text.rpartition(" ")
    if head and ("/" in name or name in ("UTC", "GMT")):
        try:
            local = datetime.fromisoformat(head.strip())
        except ValueError:
            raise TimeError(f"{what} {text!r}: not a date (expected 2026-09-21 23:59 Europe/Paris)") from None
        if local.tzinfo is not None:
            raise TimeError(f"{what} {text!r}: give an offset or a zone name, not both")
        return _check_local(local, zone(name), text).astimezone(UTC)
    raise TimeError(f"{what} {text!r}: not a date with a timezone (expected 2026-09-21T23:59:00+02:00 "
                    f"or 2026-09-21 23:59 Europe/Paris)")


_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "week": 604800, "weeks": 604800,
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?", re.I)


def parse_duration(value, what: str = "duration") -> timedelta:
    """``15 min``, ``2 h``, ``1 day 12 h``, ``90 s``, or a number of seconds; never negative."""
    if isinstance(value, bool):
        raise TimeError(f"{what}: expected a duration such as '2 days' or '15 min', got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0 or not math.isfinite(value):
            raise TimeError(f"{what}: {value!r} is not a duration")
        return timedelta(seconds=value)
    text = str(value).strip().lower()
    total, pos = 0.0, 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match or match.group(2) not in _UNITS:
            raise TimeError(f"{what} {value!r}: expected a duration such as '2 days', '36 h' or '15 min'")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0:
        raise TimeError(f"{what}: empty duration")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """``2 h 10 min``, ``3 days 1 h``, ``45 s``: the two largest units, rounded down."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "day" if days == 1 else "days"), (hours, "h"), (minutes, "min"), (secs, "s")]
    shown = []
    for amount, unit in parts:
        if amount or shown:
            shown.append((amount, unit))
    shown = [p for p in shown[:2] if p[0]]
    return " ".join(f"{amount} {unit}" for amount, unit in shown)


def format_when(when: datetime, tz: ZoneInfo | None) -> str:
    """``2026-09-21 23:59 CEST`` in the course's zone (UTC without one)."""
    local = when.astimezone(tz or UTC)
    return local.strftime("%Y-%m-%d %H:%M") + (f":{local.second:02d}" if local.second else "") \
        + f" {local.tzname() or 'UTC'}"


def iso(when: datetime | None) -> str:
    """A machine-readable instant (UTC, seconds), or '' for none."""
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if when else ""
