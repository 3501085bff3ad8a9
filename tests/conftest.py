"""Shared fixtures: the project on sys.path, the running stack, strict skips."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

# CI sets CI=true: there, a skipped test (a missing service, a missing model)
# is a failure, because CI has everything a test needs.
STRICT_SKIPS = os.environ.get("CI", "").lower() in {"1", "true", "yes"} or bool(
    os.environ.get("STRICT_SKIPS")
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, and skips are failures under CI: {report.longrepr}"


# The stack's action server runs with this link configured, so the tests see
# an environment override travel into the answers.
LINK_OVERRIDES = {"link_cotacao": "https://cotacao.example.test/formulario"}


ALWAYS_OPEN = {"SUPPORT_DAYS": "1-7", "SUPPORT_OPEN": "00:00", "SUPPORT_CLOSE": "24:00",
               "SUPPORT_HOLIDAYS": ""}

# Secrets of the servers the tests start.
STACK_SECRETS = {
    "DOWNLOAD_SECRET": "stack-download-secret-0123456789abcdef",
    "OTP_SECRET": "stack-otp-secret-0123456789abcdef",
    "CHAT_JWT_SECRET": "stack-chat-jwt-secret-0123456789abcdef",
}
# The channels' settings for those servers. Outgoing calls go to the
# ``standin`` server (Graph API and Twilio stand-in); Twilio signs requests
# for the public address, which is not where the tests post them.
CHANNEL_SETTINGS = {
    "WHATSAPP_VERIFY_TOKEN": "whatsapp-verify-token-test",
    "WHATSAPP_APP_SECRET": "whatsapp-app-secret-test",
    "WHATSAPP_ACCESS_TOKEN": "whatsapp-access-token-test",
    "WHATSAPP_PHONE_NUMBER_ID": "100200300400500",
    "WHATSAPP_TEMPLATE_NAME": "",  # no approved template: agents' replies after 24 h are held
    "TWILIO_ACCOUNT_SID": "AC" + "0123456789abcdef" * 2,
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-test",
    "TWILIO_WHATSAPP_NUMBER": "whatsapp:+14155238886",
    "TWILIO_PUBLIC_URL": "https://chat.example.test",
}


@pytest.fixture(scope="session")
def standin():
    """The Graph API / Twilio stand-in the stack's channels send to."""
    from standin import StandIn

    server = StandIn()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, standin):
    """Rasa, actions and web app on free ports, with a fresh tracker and a demo
    portal database (SQLite, dated today) of their own."""
    from devtools.stack import DEFAULT_MODEL, Stack, free_port
    from portal import demo
    from portal.db import session_scope
    from portal.migrate import upgrade

    if not DEFAULT_MODEL.exists():
        pytest.skip("no trained model at models/assistant.tar.gz: run `make train`")
    workdir = tmp_path_factory.mktemp("stack")
    database_url = f"sqlite:///{workdir / 'portal.db'}"
    upgrade(database_url)
    with session_scope(database_url) as session:
        demo.create_demo_data(session)
    running = Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        console_port=free_port(),
        tracker_db=workdir / "tracker.db",
        log_dir=workdir / "log",
        extra_env={
            **{name.upper(): url for name, url in LINK_OVERRIDES.items()},
            **STACK_SECRETS,
            "DATABASE_URL": database_url,
            "MAILDIR_PATH": str(workdir / "mail"),
            "SMTP_HOST": "",
            # The support team is always at work for these servers, so a
            # request for a person is a live handoff whatever the hour
            # (the closed-hours path is tested on the actions directly).
            **ALWAYS_OPEN,
            **CHANNEL_SETTINGS,
            "WHATSAPP_GRAPH_URL": f"{standin.url}/graph/v21.0",
            "TWILIO_API_URL": f"{standin.url}/twilio",
        },
    )
    running.database_url = database_url
    running.maildir = workdir / "mail"
    running.standin = standin
    with running:
        yield running


# --- Browser ------------------------------------------------------------------
# Debian's Chromium, driven by Playwright (which never downloads a browser here).
CHROMIUM = "/usr/bin/chromium"


# Module-scoped: while Playwright's sync API runs, the main thread has an event
# loop, and other tests' asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's Chromium is not at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"])
    yield chromium
    chromium.close()
    playwright.stop()


# --- Databases ----------------------------------------------------------------
# The portal's tests run against SQLite and PostgreSQL. PostgreSQL comes from
# TEST_POSTGRES_URL (default: the local server CI has); each test session gets
# its own throwaway database there.
TEST_POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


def _postgres_database(tmp_name: str):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(TEST_POSTGRES_URL)
    try:
        admin = create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{tmp_name}"'))
    except Exception as error:  # no server here: skipped (a failure under CI)
        pytest.skip(f"PostgreSQL not reachable at {admin_url.render_as_string(hide_password=True)}: {error}")
    return admin, admin_url.set(database=tmp_name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """An empty, migrated database of each kind; dropped after the session."""
    from portal.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('portal') / 'portal.db'}"
        upgrade(url)
        yield url
        return
    from sqlalchemy import text

    name = f"portal_test_{os.getpid()}"
    admin, url = _postgres_database(name)
    upgrade(url)
    yield url
    from portal.db import engine

    engine(url).dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


DEMO_TODAY = __import__("datetime").date(2026, 12, 4)


@pytest.fixture(scope="session")
def demo_db(database_url):
    """The demo data (as of DEMO_TODAY) in each kind of database: (url, summary)."""
    from portal import demo
    from portal.db import session_scope

    with session_scope(database_url) as session:
        assert demo.is_empty(session)
        summary = demo.create_demo_data(session, today=DEMO_TODAY)
    return database_url, summary
