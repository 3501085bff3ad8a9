"""Brazilian document numbers: validation, check digits, formatting, masking.

CPF (people), CNPJ (companies), the 44-digit access key of an NF-e (chave de
acesso) and the 47-digit linha digitável of a bank boleto (FEBRABAN layout).
Pure functions; the rest of the project never re-implements them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

_NON_DIGITS = re.compile(r"\D")


def digits(text: str | None) -> str:
    """Only the digits of ``text`` ("123.456.789-09" -> "12345678909")."""
    return _NON_DIGITS.sub("", text or "")


# --- CPF --------------------------------------------------------------------

def _cpf_digit(body: str) -> str:
    weight = len(body) + 1
    total = sum(int(d) * (weight - i) for i, d in enumerate(body))
    return str(total * 10 % 11 % 10)


def cpf_check_digits(first_nine: str) -> str:
    """The two check digits of a CPF whose first nine digits are given."""
    first = _cpf_digit(first_nine)
    return first + _cpf_digit(first_nine + first)


def is_valid_cpf(text: str | None) -> bool:
    number = digits(text)
    if len(number) != 11 or number == number[0] * 11:
        return False
    return number[9:] == cpf_check_digits(number[:9])


_CPF_IN_TEXT = re.compile(r"(?<!\d)\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?!\d)")
_CNPJ_IN_TEXT = re.compile(r"(?<!\d)\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}(?!\d)")


def find_cpf(text: str | None) -> str | None:
    """The first CPF-shaped number in free text ("meu cpf é 529.982.247-25"), digits only."""
    match = _CPF_IN_TEXT.search(text or "")
    return digits(match.group()) if match else None


def find_cnpj(text: str | None) -> str | None:
    match = _CNPJ_IN_TEXT.search(text or "")
    return digits(match.group()) if match else None


def format_cpf(text: str) -> str:
    n = digits(text)
    return f"{n[:3]}.{n[3:6]}.{n[6:9]}-{n[9:]}"


def mask_cpf(text: str) -> str:
    """For agents and logs: ***.456.789-** keeps the middle, hides the rest."""
    n = digits(text)
    return f"***.{n[3:6]}.{n[6:9]}-**"


# --- CNPJ -------------------------------------------------------------------

_CNPJ_WEIGHTS = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]


def _cnpj_digit(body: str) -> str:
    weights = _CNPJ_WEIGHTS[-len(body):]
    remainder = sum(int(d) * w for d, w in zip(body, weights)) % 11
    return "0" if remainder < 2 else str(11 - remainder)


def cnpj_check_digits(first_twelve: str) -> str:
    first = _cnpj_digit(first_twelve)
    return first + _cnpj_digit(first_twelve + first)


def is_valid_cnpj(text: str | None) -> bool:
    number = digits(text)
    if len(number) != 14 or number == number[0] * 14:
        return False
    return number[12:] == cnpj_check_digits(number[:12])


def format_cnpj(text: str) -> str:
    n = digits(text)
    return f"{n[:2]}.{n[2:5]}.{n[5:8]}/{n[8:12]}-{n[12:]}"


# --- Modulo helpers ---------------------------------------------------------

def _mod11_weighted_sum(number: str) -> int:
    """Sum with weights 2..9 cycling from the rightmost digit."""
    return sum(int(d) * (2 + i % 8) for i, d in enumerate(reversed(number)))


def _mod10(number: str) -> str:
    total = 0
    for i, d in enumerate(reversed(number)):
        product = int(d) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return str((10 - total % 10) % 10)


# --- NF-e access key (chave de acesso) ----------------------------------------

def nfe_key_check_digit(first_43: str) -> str:
    remainder = _mod11_weighted_sum(first_43) % 11
    return "0" if remainder < 2 else str(11 - remainder)


def is_valid_nfe_key(text: str | None) -> bool:
    key = digits(text)
    return len(key) == 44 and key[43] == nfe_key_check_digit(key[:43])


def format_nfe_key(text: str) -> str:
    """Groups of four digits, as printed on the DANFE."""
    key = digits(text)
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))


# --- Boleto (FEBRABAN, bank collection) ---------------------------------------

_DUE_FACTOR_BASE = date(1997, 10, 7)


def due_date_factor(due: date) -> int:
    """Days since 1997-10-07; from 2025-02-22 (factor 10000) it restarts at 1000."""
    factor = (due - _DUE_FACTOR_BASE).days
    return factor if factor <= 9999 else (factor - 10000) % 9000 + 1000


def _barcode_check_digit(without_dv: str) -> str:
    remainder = _mod11_weighted_sum(without_dv) % 11
    dv = 11 - remainder
    return "1" if dv in (0, 10, 11) else str(dv)


def boleto_barcode(bank: str, due: date, amount: Decimal, free_field: str) -> str:
    """The 44-digit barcode: bank(3) currency(1) DV(1) factor(4) amount(10) free(25)."""
    cents = int((amount * 100).to_integral_value())
    if len(bank) != 3 or len(free_field) != 25 or not 0 <= cents < 10**10:
        raise ValueError("invalid boleto fields")
    body = f"{bank}9{due_date_factor(due):04d}{cents:010d}{free_field}"
    return body[:4] + _barcode_check_digit(body) + body[4:]


def linha_digitavel(barcode: str) -> str:
    """The 47 digits a person types, from the 44-digit barcode."""
    field1 = barcode[0:4] + barcode[19:24]
    field2 = barcode[24:34]
    field3 = barcode[34:44]
    return (
        field1 + _mod10(field1)
        + field2 + _mod10(field2)
        + field3 + _mod10(field3)
        + barcode[4]
        + barcode[5:19]
    )


def barcode_from_linha(linha: str) -> str:
    n = digits(linha)
    return n[0:4] + n[32] + n[33:47] + n[4:9] + n[10:20] + n[21:31]


def is_valid_linha_digitavel(text: str | None) -> bool:
    n = digits(text)
    if len(n) != 47:
        return False
    fields_ok = (
        n[9] == _mod10(n[0:9]) and n[20] == _mod10(n[10:20]) and n[31] == _mod10(n[21:31])
    )
    barcode = barcode_from_linha(n)
    return fields_ok and barcode[4] == _barcode_check_digit(barcode[:4] + barcode[5:])


def format_linha_digitavel(text: str) -> str:
    """AAAAA.AAAAA BBBBB.BBBBBB CCCCC.CCCCCC D EEEEEEEEEEEEEE"""
    n = digits(text)
    return (
        f"{n[0:5]}.{n[5:10]} {n[10:15]}.{n[15:21]} {n[21:26]}.{n[26:32]} {n[32]} {n[33:47]}"
    )
