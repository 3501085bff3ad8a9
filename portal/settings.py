"""Settings of the domain, from the environment (``.env`` via python-dotenv).

Every variable read here is listed in ``.env.example`` with a safe
development default. Nothing else in ``portal/`` reads ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Real environment variables win over the .env file.
load_dotenv(PROJECT_ROOT / ".env", override=False)


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    database_url: str
    otp_secret: str
    download_secret: str
    documents_base_url: str
    maildir: Path
    mail_from: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_starttls: bool
    # Support team hours (live handoff) and answer times.
    support_days: str
    support_open: str
    support_close: str
    support_timezone: str
    support_holidays: str
    ticket_sla_hours: int
    handoff_sla_minutes: int
    handoff_max_wait_minutes: int
    # Optional Zendesk sync (off while ZENDESK_URL is empty).
    zendesk_url: str
    zendesk_email: str
    zendesk_token: str
    zendesk_timeout: float
    # Website widget: HS256 secret of the portal's chat tokens.
    chat_jwt_secret: str
    # Days a WhatsApp number verified with CPF + code stays linked to its user.
    whatsapp_link_days: int

    @classmethod
    def from_env(cls) -> "Settings":
        env = os.environ.get
        return cls(
            database_url=env("DATABASE_URL") or f"sqlite:///{_path('var/portal.db')}",
            otp_secret=env("OTP_SECRET") or "dev-only-otp-secret",
            download_secret=env("DOWNLOAD_SECRET") or "dev-only-download-secret-change-me-0000",
            documents_base_url=env("DOCUMENTS_BASE_URL") or "http://127.0.0.1:8000/documentos/",
            maildir=_path(env("MAILDIR_PATH") or "var/mail"),
            mail_from=env("MAIL_FROM") or "My ScanSource <nao-responda@scansource.com.br>",
            smtp_host=env("SMTP_HOST") or "",
            smtp_port=int(env("SMTP_PORT") or 587),
            smtp_user=env("SMTP_USER") or "",
            smtp_password=env("SMTP_PASSWORD") or "",
            smtp_starttls=(env("SMTP_STARTTLS") or "true").lower() in {"1", "true", "yes"},
            support_days=env("SUPPORT_DAYS") or "1-5",
            support_open=env("SUPPORT_OPEN") or "08:00",
            support_close=env("SUPPORT_CLOSE") or "18:00",
            support_timezone=env("SUPPORT_TIMEZONE") or "America/Sao_Paulo",
            support_holidays=env("SUPPORT_HOLIDAYS") or "",
            ticket_sla_hours=int(env("TICKET_SLA_HOURS") or 8),
            handoff_sla_minutes=int(env("HANDOFF_SLA_MINUTES") or 15),
            handoff_max_wait_minutes=int(env("HANDOFF_MAX_WAIT_MINUTES") or 30),
            zendesk_url=(env("ZENDESK_URL") or "").rstrip("/"),
            zendesk_email=env("ZENDESK_EMAIL") or "",
            zendesk_token=env("ZENDESK_API_TOKEN") or "",
            zendesk_timeout=float(env("ZENDESK_TIMEOUT") or 10),
            chat_jwt_secret=env("CHAT_JWT_SECRET") or DEV_SECRETS["CHAT_JWT_SECRET"],
            whatsapp_link_days=int(env("WHATSAPP_LINK_DAYS") or 90),
        )

    @property
    def helpdesk_enabled(self) -> bool:
        return bool(self.zendesk_url)


def settings() -> Settings:
    return Settings.from_env()


# Development defaults that must never sign or protect anything in production.
DEV_SECRETS = {
    "OTP_SECRET": "dev-only-otp-secret",
    "DOWNLOAD_SECRET": "dev-only-download-secret-change-me-0000",
    "RASA_AUTH_TOKEN": "dev-only-rasa-token",
    "CHAT_JWT_SECRET": "dev-only-chat-jwt-secret-change-me-00000",
}


def check_production_secrets() -> None:
    """With APP_ENV=production, refuse to start on a default or short secret."""
    if os.environ.get("APP_ENV", "development") != "production":
        return
    weak = [
        name for name, default in DEV_SECRETS.items()
        if (os.environ.get(name) or default) == default or len(os.environ.get(name, "")) < 32
    ]
    if weak:
        raise RuntimeError(
            "APP_ENV=production but these secrets are unset, default or shorter than 32 "
            f"characters: {', '.join(weak)}"
        )
