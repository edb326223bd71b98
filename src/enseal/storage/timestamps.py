"""Conversion between aware UTC datetimes and the integer Unix milliseconds stored in rows."""

from __future__ import annotations

from datetime import UTC, datetime

from enseal.errors import LocalProtocolError


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise LocalProtocolError("store only timezone-aware datetimes")
    return int(moment.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def from_ms_or_none(value: int | None) -> datetime | None:
    return None if value is None else from_ms(value)
