"""Settings of the channels, from the environment (``.env`` via python-dotenv).

Every variable read here is listed in ``.env.example`` with a safe
development default, and nothing else in ``channels/`` reads ``os.environ``.
Each channel reads its settings once, when Rasa constructs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

# Real environment variables win over the .env file.
load_dotenv(Path(__file__).resolve().parent.parent / ".env", override=False)


# --- WhatsApp through Twilio (channels/twilio_whatsapp.py) --------------------

@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    # Signs Twilio's webhooks (X-Twilio-Signature) and authenticates our calls.
    # Empty: every webhook is refused and nothing is sent.
    auth_token: str
    # The sender of our messages, "whatsapp:+<E.164>".
    whatsapp_number: str
    # Where Twilio reaches this server, without the /webhooks/... path (behind
    # a proxy, the public https address plus any prefix the proxy strips), so
    # the signature is checked over the address Twilio signed. Empty: the
    # address the request came to (development without a proxy only).
    public_url: str
    # Twilio's REST API (a local stand-in in the tests).
    api_url: str

    @property
    def configured(self) -> bool:
        return bool(self.account_sid and self.auth_token)


def twilio_settings() -> TwilioSettings:
    env = os.environ.get
    number = (env("TWILIO_WHATSAPP_NUMBER") or "whatsapp:+14155238886").strip()
    if not number.startswith("whatsapp:"):
        number = f"whatsapp:{number}"
    return TwilioSettings(
        account_sid=(env("TWILIO_ACCOUNT_SID") or "").strip(),
        auth_token=(env("TWILIO_AUTH_TOKEN") or "").strip(),
        whatsapp_number=number,
        public_url=(env("TWILIO_PUBLIC_URL") or "").strip().rstrip("/"),
        api_url=(env("TWILIO_API_URL") or "https://api.twilio.com").strip().rstrip("/"),
    )


# --- WhatsApp Cloud API, Meta (channels/whatsapp.py) --------------------------

@dataclass(frozen=True)
class WhatsAppSettings:
    # Meta's webhook verification (GET hub.verify_token). Empty: refused.
    verify_token: str
    # The Meta app's secret: signs every webhook POST (X-Hub-Signature-256).
    # Empty: every POST is refused.
    app_secret: str
    # Bearer token of the Graph API calls that send our messages.
    access_token: str
    # The business phone number our messages go out from (its Graph API id).
    phone_number_id: str
    # The Graph API with its version (a local stand-in in the tests).
    graph_url: str
    # Seconds per Graph API call (each of up to 3 attempts).
    timeout: float
    # The approved template sent when the customer's last message is older than
    # 24 hours (an agent answering later). Empty: such messages are not sent.
    template_name: str
    template_language: str

    @property
    def configured(self) -> bool:
        return bool(self.app_secret and self.access_token and self.phone_number_id)


def whatsapp_settings() -> WhatsAppSettings:
    env = os.environ.get
    return WhatsAppSettings(
        verify_token=(env("WHATSAPP_VERIFY_TOKEN") or "").strip(),
        app_secret=(env("WHATSAPP_APP_SECRET") or "").strip(),
        access_token=(env("WHATSAPP_ACCESS_TOKEN") or "").strip(),
        phone_number_id=(env("WHATSAPP_PHONE_NUMBER_ID") or "").strip(),
        graph_url=(env("WHATSAPP_GRAPH_URL") or "https://graph.facebook.com/v21.0").strip().rstrip("/"),
        timeout=float(env("WHATSAPP_TIMEOUT") or 10),
        template_name=(env("WHATSAPP_TEMPLATE_NAME") or "").strip(),
        template_language=(env("WHATSAPP_TEMPLATE_LANGUAGE") or "pt_BR").strip(),
    )


# --- Website widget, Socket.IO (channels/socket.py) ---------------------------

@dataclass(frozen=True)
class SocketSettings:
    # false: a connection without a portal token is refused (no anonymous
    # conversations on the website).
    allow_anonymous: bool


def socket_settings() -> SocketSettings:
    env = os.environ.get
    return SocketSettings(
        allow_anonymous=(env("CHAT_ALLOW_ANONYMOUS") or "true").strip().lower() not in {"0", "false", "no"},
    )
