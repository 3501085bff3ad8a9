"""The support team's hours (portal.hours): all times naive UTC; São Paulo is UTC-3."""

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from portal.hours import BusinessHours
from portal.settings import Settings


def hours(**env) -> BusinessHours:
    values = {"SUPPORT_DAYS": "1-5", "SUPPORT_OPEN": "08:00", "SUPPORT_CLOSE": "18:00",
              "SUPPORT_TIMEZONE": "America/Sao_Paulo", "SUPPORT_HOLIDAYS": "", **env}
    config = replace(Settings.from_env(), support_days=values["SUPPORT_DAYS"],
                     support_open=values["SUPPORT_OPEN"], support_close=values["SUPPORT_CLOSE"],
                     support_timezone=values["SUPPORT_TIMEZONE"], support_holidays=values["SUPPORT_HOLIDAYS"])
    return BusinessHours.from_settings(config)


FRIDAY_17H = datetime(2026, 12, 4, 20, 0)  # 17h in São Paulo
FRIDAY_19H = datetime(2026, 12, 4, 22, 0)
SATURDAY = datetime(2026, 12, 5, 15, 0)
MONDAY_8H = datetime(2026, 12, 7, 11, 0)


def test_open_only_on_working_days_between_the_hours():
    team = hours()
    assert team.is_open(FRIDAY_17H)
    assert not team.is_open(FRIDAY_19H) and not team.is_open(SATURDAY)
    assert team.is_open(MONDAY_8H) and not team.is_open(MONDAY_8H - timedelta(seconds=1))


def test_next_opening_skips_the_weekend_and_holidays():
    assert hours().next_open(FRIDAY_19H) == MONDAY_8H
    assert hours().next_open(FRIDAY_17H) == FRIDAY_17H
    assert hours(SUPPORT_HOLIDAYS="2026-12-07").next_open(SATURDAY) == MONDAY_8H + timedelta(days=1)


def test_working_time_runs_only_while_the_team_works():
    # Friday 17h + 8 working hours: 1 h on Friday, then Monday 8h-15h.
    assert hours().add(FRIDAY_17H, timedelta(hours=8)) == MONDAY_8H + timedelta(hours=7)
    assert hours().add(SATURDAY, timedelta(minutes=30)) == MONDAY_8H + timedelta(minutes=30)


def test_a_day_that_never_closes():
    team = hours(SUPPORT_DAYS="1-7", SUPPORT_OPEN="00:00", SUPPORT_CLOSE="24:00")
    for moment in (FRIDAY_19H, SATURDAY, datetime(2026, 12, 6, 2, 59, 59)):
        assert team.is_open(moment)
    assert team.add(FRIDAY_19H, timedelta(hours=30)) == FRIDAY_19H + timedelta(hours=30)
    assert team.describe() == "de segunda a domingo, das 0h às 24h (horário de Brasília)"


def test_the_customer_reads_the_hours_and_dates_in_portuguese():
    team = hours()
    assert team.describe() == "de segunda a sexta, das 8h às 18h (horário de Brasília)"
    assert team.when(MONDAY_8H, FRIDAY_19H) == "segunda-feira, 07/12, às 8h"
    assert team.when(FRIDAY_17H + timedelta(minutes=30), FRIDAY_17H) == "hoje às 17h30"
    assert team.when(datetime(2026, 12, 8, 12, 0), MONDAY_8H) == "amanhã às 9h"
    assert hours(SUPPORT_DAYS="1,3,5").describe().startswith("segunda-feira, quarta-feira, sexta-feira")
    assert hours(SUPPORT_TIMEZONE="America/Manaus").describe().endswith("(horário de America/Manaus)")


@pytest.mark.parametrize("env", [{"SUPPORT_DAYS": "0-4"}, {"SUPPORT_DAYS": ""},
                                 {"SUPPORT_OPEN": "18:00", "SUPPORT_CLOSE": "08:00"}])
def test_bad_settings_are_refused(env):
    with pytest.raises(ValueError):
        hours(**env)


def test_holidays_are_dates():
    assert hours(SUPPORT_HOLIDAYS="2026-12-25, 2027-01-01").holidays == {date(2026, 12, 25), date(2027, 1, 1)}
