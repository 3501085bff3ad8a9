"""The support team's hours: when a person can take a chat, and answer times.

Times in the database are naive UTC (``models.utcnow``); the hours are local
to the team (America/Sao_Paulo by default). Days are ISO weekdays, 1 = Monday.

    SUPPORT_DAYS=1-5  SUPPORT_OPEN=08:00  SUPPORT_CLOSE=18:00
    SUPPORT_HOLIDAYS=2026-12-25,2027-01-01
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from portal.settings import Settings

WEEKDAYS = ["segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira",
            "sábado", "domingo"]


def _days(spec: str) -> frozenset[int]:
    """"1-5" or "1,2,3,4,5,6" -> ISO weekdays."""
    days: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        days.update(range(int(first), int(last or first) + 1))
    if not days or not days <= set(range(1, 8)):
        raise ValueError(f"SUPPORT_DAYS must list weekdays 1 (Monday) to 7: {spec!r}")
    return frozenset(days)


def _clock(value: str) -> time:
    """"08:00" -> 08:00; "24:00" is the end of the day."""
    hours, _, minutes = value.strip().partition(":")
    if int(hours) == 24 and int(minutes or 0) == 0:
        return time.max
    return time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class BusinessHours:
    days: frozenset[int]
    opens: time
    closes: time
    zone: ZoneInfo
    holidays: frozenset[date] = frozenset()

    @classmethod
    def from_settings(cls, config: Settings) -> "BusinessHours":
        holidays = frozenset(date.fromisoformat(d.strip()) for d in config.support_holidays.split(",")
                             if d.strip())
        hours = cls(_days(config.support_days), _clock(config.support_open),
                    _clock(config.support_close), ZoneInfo(config.support_timezone), holidays)
        if hours.opens >= hours.closes:
            raise ValueError("SUPPORT_OPEN must be earlier than SUPPORT_CLOSE")
        return hours

    def local(self, utc: datetime) -> datetime:
        return utc.replace(tzinfo=timezone.utc).astimezone(self.zone)

    def _utc(self, local: datetime) -> datetime:
        return local.astimezone(timezone.utc).replace(tzinfo=None)

    def _working_day(self, day: date) -> bool:
        return day.isoweekday() in self.days and day not in self.holidays

    def _closing(self, day: date) -> datetime:
        if self.closes == time.max:  # "24:00": the next midnight, not 23:59:59.999999
            return datetime.combine(day + timedelta(days=1), time(0), self.zone)
        return datetime.combine(day, self.closes, self.zone)

    def is_open(self, utc: datetime) -> bool:
        now = self.local(utc)
        return self._working_day(now.date()) and self.opens <= now.time() < self.closes

    def next_open(self, utc: datetime) -> datetime:
        """The next moment (UTC) the team is at work; ``utc`` itself if open now."""
        if self.is_open(utc):
            return utc
        now = self.local(utc)
        day = now.date()
        if self._working_day(day) and now.time() < self.opens:
            return self._utc(datetime.combine(day, self.opens, self.zone))
        for _ in range(366):
            day += timedelta(days=1)
            if self._working_day(day):
                return self._utc(datetime.combine(day, self.opens, self.zone))
        raise ValueError("no working day in the next year: check SUPPORT_DAYS and SUPPORT_HOLIDAYS")

    def add(self, utc: datetime, worked: timedelta) -> datetime:
        """``utc`` plus ``worked`` of working time: the deadline of an answer."""
        at = self.next_open(utc)
        left = worked
        while True:
            local = self.local(at)
            close = self._closing(local.date())
            available = close - local
            if left <= available:
                return self._utc(local + left)
            left -= available
            at = self.next_open(self._utc(close))

    def describe(self) -> str:
        """"de segunda a sexta, das 8h às 18h" for the chat."""
        days = sorted(self.days)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 1:
            span = f"de {WEEKDAYS[days[0] - 1].split('-')[0]} a {WEEKDAYS[days[-1] - 1].split('-')[0]}"
        else:
            span = ", ".join(WEEKDAYS[d - 1] for d in days)
        zone = "horário de Brasília" if self.zone.key == "America/Sao_Paulo" else f"horário de {self.zone.key}"
        return f"{span}, das {_hour(self.opens)} às {_hour(self.closes)} ({zone})"

    def when(self, utc: datetime, now: datetime) -> str:
        """A moment as the customer reads it: "hoje às 14h", "segunda-feira, 07/12, às 8h"."""
        local, today = self.local(utc), self.local(now).date()
        if local.date() == today:
            return f"hoje às {_hour(local.time())}"
        if local.date() == today + timedelta(days=1):
            return f"amanhã às {_hour(local.time())}"
        return f"{WEEKDAYS[local.weekday()]}, {local:%d/%m}, às {_hour(local.time())}"


def _hour(value: time) -> str:
    if value == time.max:
        return "24h"
    return f"{value.hour}h" if value.minute == 0 else f"{value.hour}h{value.minute:02d}"
