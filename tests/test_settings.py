"""Settings: production refuses development secrets."""

import pytest

from portal.settings import DEV_SECRETS, check_production_secrets


def test_development_accepts_the_defaults(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    for name in DEV_SECRETS:
        monkeypatch.delenv(name, raising=False)
    check_production_secrets()


def test_production_refuses_default_or_short_secrets(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("OTP_SECRET", "x" * 40)
    monkeypatch.setenv("DOWNLOAD_SECRET", DEV_SECRETS["DOWNLOAD_SECRET"])
    monkeypatch.setenv("RASA_AUTH_TOKEN", "short")
    with pytest.raises(RuntimeError) as error:
        check_production_secrets()
    assert "DOWNLOAD_SECRET" in str(error.value) and "RASA_AUTH_TOKEN" in str(error.value)
    assert "OTP_SECRET" not in str(error.value)


def test_production_starts_with_real_secrets(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    for name in DEV_SECRETS:
        monkeypatch.setenv(name, name.lower() + "-" + "s" * 40)
    check_production_secrets()
