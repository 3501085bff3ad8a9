"""pt-BR formatting of values shown in the chat."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal


def money(value: Decimal) -> str:
    """Decimal("1234.5") -> "R$ 1.234,50"."""
    whole, cents = f"{value:.2f}".split(".")
    return f"R$ {int(whole):,}".replace(",", ".") + f",{cents}"


def day(value: date | datetime) -> str:
    return value.strftime("%d/%m/%Y")


def minutes(seconds: float) -> str:
    count = max(1, round(seconds / 60))
    return "1 minuto" if count == 1 else f"{count} minutos"


# Said wherever a CNPJ is typed (registration check, tickets).
INVALID_CNPJ = ("Esse CNPJ não parece válido: confira os 14 dígitos (os dois últimos são "
                "dígitos verificadores) e digite de novo, por favor.")
