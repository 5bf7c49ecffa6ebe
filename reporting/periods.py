"""Periods `[start, end)` of tenant-local days, and the instants they begin and end at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz`, as an aware datetime (the instant a period starts at)."""
    return datetime.combine(day, time.min, tzinfo=tz)


def local_today(tz: ZoneInfo, now: datetime | None = None) -> date:
    return timezone.localtime(now or timezone.now(), tz).date()


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_start(day: date) -> date:
    return day.replace(day=1)


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("A period ends after it starts.")

    @property
    def start_at(self) -> datetime:
        return local_midnight(self.start, self.tz)

    @property
    def end_at(self) -> datetime:
        return local_midnight(self.end, self.tz)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def is_whole_months(self) -> bool:
        return self.start.day == 1 and self.end.day == 1

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    def previous(self) -> Period:
        """The period of the same length just before: whole months stay whole months."""
        if self.is_whole_months:
            return Period(add_months(self.start, -self.months), self.start, self.tz)
        return Period(self.start - timedelta(days=self.days), self.start, self.tz)

    def label(self) -> str:
        if self.is_whole_months and self.months == 1:
            return self.start.strftime("%B %Y")
        if self.is_whole_months and self.months == 3 and self.start.month % 3 == 1:
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.is_whole_months and self.months == 12 and self.start.month == 1:
            return str(self.start.year)
        return f"{self.start:%-d %b %Y} – {self.last_day:%-d %b %Y}"


def last_full_month(tz: ZoneInfo, today: date | None = None) -> Period:
    today = today or local_today(tz)
    end = month_start(today)
    return Period(add_months(end, -1), end, tz)


PRESETS = {
    "last_month": "Last month",
    "this_month": "This month",
    "last_quarter": "Last quarter",
    "this_quarter": "This quarter",
    "last_12_months": "Last 12 months",
    "this_year": "This year",
    "custom": "Custom",
}


def preset_period(name: str, tz: ZoneInfo, today: date | None = None) -> Period:
    today = today or local_today(tz)
    month = month_start(today)
    quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    match name:
        case "this_month":
            return Period(month, add_months(month, 1), tz)
        case "last_quarter":
            return Period(add_months(quarter, -3), quarter, tz)
        case "this_quarter":
            return Period(quarter, add_months(quarter, 3), tz)
        case "last_12_months":
            return Period(add_months(month, -12), month, tz)
        case "this_year":
            return Period(date(today.year, 1, 1), date(today.year + 1, 1, 1), tz)
        case _:
            return last_full_month(tz, today)
