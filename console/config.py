"""Settings of the agents' console, from the environment (``.env`` is loaded
by ``portal.settings``). The portal's own settings stay in ``portal.settings``.

    RASA_URL               the Rasa server's HTTP API (http://127.0.0.1:5005)
    RASA_AUTH_TOKEN        its token (dev-only-rasa-token)
    TRACKER_DATABASE_URL   Rasa's tracker store, read for the insights page;
                           empty: sqlite:///<TRACKER_SQLITE_PATH> (var/tracker.db)
    CONSOLE_SECURE_COOKIE  true behind HTTPS: the session cookie gets Secure
    CONSOLE_WORKER         false: no background outbox worker in this process
    OUTBOX_INTERVAL        seconds between two outbox rounds of the worker (2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from portal.settings import PROJECT_ROOT

_TRUE = {"1", "true", "yes"}


@dataclass(frozen=True)
class ConsoleSettings:
    rasa_url: str
    rasa_token: str
    tracker_database_url: str
    secure_cookie: bool
    worker: bool
    outbox_interval: float


def console_settings() -> ConsoleSettings:
    env = os.environ.get
    tracker = Path(env("TRACKER_SQLITE_PATH") or "var/tracker.db")
    if not tracker.is_absolute():
        tracker = PROJECT_ROOT / tracker
    return ConsoleSettings(
        rasa_url=(env("RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
        rasa_token=env("RASA_AUTH_TOKEN") or "dev-only-rasa-token",
        tracker_database_url=env("TRACKER_DATABASE_URL") or f"sqlite:///{tracker}",
        secure_cookie=(env("CONSOLE_SECURE_COOKIE") or "false").lower() in _TRUE,
        worker=(env("CONSOLE_WORKER") or "true").lower() in _TRUE,
        outbox_interval=float(env("OUTBOX_INTERVAL") or 2),
    )
