"""Business dates are Brazilian dates: a boleto due today is not overdue at
22h in São Paulo just because the server's clock is in UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

BRAZIL = ZoneInfo("America/Sao_Paulo")


def today_in_brazil() -> date:
    return datetime.now(BRAZIL).date()
