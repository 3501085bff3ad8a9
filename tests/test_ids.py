from datetime import date
from decimal import Decimal

import pytest

from portal import ids


@pytest.mark.parametrize("cpf", ["529.982.247-25", "52998224725", "111.444.777-35"])
def test_valid_cpfs(cpf):
    assert ids.is_valid_cpf(cpf)


@pytest.mark.parametrize(
    "cpf", ["529.982.247-24", "111.111.111-11", "1234567890", "529982247250", "", None, "abc"]
)
def test_invalid_cpfs(cpf):
    assert not ids.is_valid_cpf(cpf)


def test_cpf_format_and_mask():
    assert ids.format_cpf("52998224725") == "529.982.247-25"
    assert ids.mask_cpf("529.982.247-25") == "***.982.247-**"


@pytest.mark.parametrize("cnpj", ["11.222.333/0001-81", "11222333000181", "11.444.777/0001-61"])
def test_valid_cnpjs(cnpj):
    assert ids.is_valid_cnpj(cnpj)


@pytest.mark.parametrize("cnpj", ["11.222.333/0001-80", "00000000000000", "1122233300018", None])
def test_invalid_cnpjs(cnpj):
    assert not ids.is_valid_cnpj(cnpj)


def test_cnpj_format():
    assert ids.format_cnpj("11222333000181") == "11.222.333/0001-81"


def test_nfe_key_check_digit_round_trip_and_tampering():
    body = "3526110112233300018155001000012345123456789"  # 43 digits
    key = body + ids.nfe_key_check_digit(body)
    assert len(key) == 44 and ids.is_valid_nfe_key(key)
    tampered = key[:10] + str((int(key[10]) + 1) % 10) + key[11:]
    assert not ids.is_valid_nfe_key(tampered)
    assert not ids.is_valid_nfe_key(key[:-1])
    assert ids.format_nfe_key(key).count(" ") == 10


def test_due_date_factor_follows_the_febraban_calendar():
    assert ids.due_date_factor(date(2000, 7, 3)) == 1000
    assert ids.due_date_factor(date(2025, 2, 21)) == 9999
    assert ids.due_date_factor(date(2025, 2, 22)) == 1000  # the 2025 restart
    assert ids.due_date_factor(date(2026, 12, 4)) == 1000 + (date(2026, 12, 4) - date(2025, 2, 22)).days


def test_boleto_linha_digitavel_round_trip():
    barcode = ids.boleto_barcode("341", date(2026, 12, 20), Decimal("1234.56"), "1" * 10 + "2" * 10 + "34567")
    assert len(barcode) == 44
    linha = ids.linha_digitavel(barcode)
    assert len(linha) == 47
    assert ids.is_valid_linha_digitavel(linha)
    assert ids.barcode_from_linha(linha) == barcode
    assert linha.endswith(f"{ids.due_date_factor(date(2026, 12, 20)):04d}0000123456")
    formatted = ids.format_linha_digitavel(linha)
    assert ids.digits(formatted) == linha and ids.is_valid_linha_digitavel(formatted)


@pytest.mark.parametrize("position", [0, 12, 25, 32, 40])
def test_boleto_linha_digitavel_detects_a_wrong_digit(position):
    barcode = ids.boleto_barcode("001", date(2026, 1, 15), Decimal("99.90"), "0" * 24 + "7")
    linha = ids.linha_digitavel(barcode)
    wrong = linha[:position] + str((int(linha[position]) + 3) % 10) + linha[position + 1:]
    assert not ids.is_valid_linha_digitavel(wrong)


def test_boleto_rejects_impossible_fields():
    with pytest.raises(ValueError):
        ids.boleto_barcode("34", date(2026, 1, 1), Decimal("1"), "0" * 25)
    with pytest.raises(ValueError):
        ids.boleto_barcode("341", date(2026, 1, 1), Decimal("100000000.00"), "0" * 25)


def test_cpf_and_cnpj_are_found_in_free_text():
    assert ids.find_cpf("meu cpf é 529.982.247-25, obrigado") == "52998224725"
    assert ids.find_cpf("52998224725") == "52998224725"
    assert ids.find_cpf("pedido 4500123") is None
    assert ids.find_cpf("cnpj 11222333000181") is None
    assert ids.find_cnpj("nosso cnpj é 11.222.333/0001-81") == "11222333000181"
    assert ids.find_cnpj("11222333000181") == "11222333000181"
    assert ids.find_cnpj("cpf 529.982.247-25") is None
