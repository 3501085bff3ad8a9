"""The website chat widget on the demo portal page, in a real browser (Debian's
Chromium driven by Playwright) against the whole stack: the page at the web
app's /, the widget's files from /widget/, Socket.IO to the Rasa server, the
actions and the portal database. Also the demo page's own rules over HTTP
(CSRF, only listed users, off in production)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import jwt
import pytest
import requests
from sqlalchemy import select

from conftest import STACK_SECRETS
from devtools.stack import free_port
from portal.db import session_scope
from portal.models import Boleto, Order, Role, User

ROOT = Path(__file__).resolve().parent.parent
SOCKET_IO = ROOT / "web" / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
SECRET = STACK_SECRETS["CHAT_JWT_SECRET"]
FORGOT_PASSWORD = "Para criar uma nova senha"


@pytest.fixture(scope="module", autouse=True)
def socket_io_client_installed():
    if not SOCKET_IO.exists():
        pytest.skip(f"{SOCKET_IO} is missing: run `make setup` (scripts/setup_web.sh installs it from npm)")


class Visitor:
    """One person's browser (its own localStorage), on the demo page."""

    def __init__(self, browser, stack, width: int = 1280, height: int = 800) -> None:
        self.stack = stack
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="pt-BR")
        self.page = self.context.new_page()
        self.problems: list[str] = []  # CSP violations and script errors show up here
        self.page.on("console", lambda message: message.type == "error" and self.problems.append(message.text))
        self.page.on("pageerror", lambda error: self.problems.append(str(error)))
        self.page.goto(f"{stack.console_url}/")

    @property
    def log(self):
        return self.page.get_by_role("log")

    @property
    def input(self):
        return self.page.get_by_label("Sua mensagem")

    def open_chat(self) -> None:
        from playwright.sync_api import expect

        panel = self.page.get_by_role("dialog", name="Assistente My ScanSource")
        if not panel.is_visible():
            self.page.get_by_role("button", name="Abrir chat").click()
        expect(panel).to_be_visible()

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def log_in_as(self, user_id: int) -> None:
        closer = self.page.get_by_role("button", name="Fechar chat")
        if closer.is_visible():  # the open panel covers part of the page
            closer.click()
        self.page.get_by_label("Portal com login, como:").select_option(str(user_id))
        self.page.get_by_role("button", name="Entrar no portal").click()
        self.page.wait_for_load_state()

    def conversation_ids(self) -> list[str]:
        return self.page.evaluate(
            "() => Object.keys(localStorage).filter(k => k.startsWith('mss-chat:history:'))"
            ".map(k => k.slice('mss-chat:history:'.length))")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visitors(browser, stack):
    opened: list[Visitor] = []

    def visit(**viewport) -> Visitor:
        visitor = Visitor(browser, stack, **viewport)
        opened.append(visitor)
        return visitor

    yield visit
    problems = [p for v in opened for p in v.problems]
    for visitor in opened:
        visitor.close()
    assert problems == []


def listed_users(stack) -> dict[int, str]:
    html = requests.get(f"{stack.console_url}/", timeout=10).text
    return {int(value): re.sub(r"\s+", " ", label).strip()
            for value, label in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', html)}


def listed_user(stack, role: Role) -> User:
    with session_scope(stack.database_url) as db:
        for user_id in listed_users(stack):
            user = db.get(User, user_id)
            if user.role is role:
                return user
    raise AssertionError(f"no {role.value} on the demo page")


def tracker_user_texts(stack, conversation: str, last: str, timeout: float = 10) -> list[str]:
    """The conversation's user texts once ``last`` is stored (Rasa sends the
    replies first and stores the conversation after them)."""
    deadline = time.monotonic() + timeout
    while True:
        events = requests.get(f"{stack.rasa_url}/conversations/{conversation}/tracker",
                              params={"token": stack.auth_token}, timeout=10).json()["events"]
        texts = [e.get("text") for e in events if e["event"] == "user"]
        if (texts and texts[-1] == last) or time.monotonic() > deadline:
            return texts
        time.sleep(0.2)


# --- In the browser ------------------------------------------------------------

def test_a_visitor_asks_reloads_keeps_the_history_and_picks_a_quick_reply(stack, visitors):
    from playwright.sync_api import expect

    visitor = visitors()
    page = visitor.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Bem-vindo ao My ScanSource")
    launcher = page.get_by_role("button", name="Abrir chat")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    visitor.open_chat()
    expect(visitor.input).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("heading", name="Assistente My ScanSource")).to_be_visible()
    expect(visitor.log).to_have_attribute("aria-live", "polite")

    visitor.say("esqueci minha senha")
    expect(visitor.log).to_contain_text(FORGOT_PASSWORD, timeout=20_000)
    expect(visitor.log.locator(".mss-chat-user")).to_have_text(["Você: esqueci minha senha"])
    # Line breaks kept, links clickable (the FAQ's "abrir um chamado" link).
    answer = visitor.log.locator(".mss-chat-bot").last
    assert "\n2. Digite o CPF" in answer.inner_text()
    expect(answer.locator("a.mss-chat-link")).to_have_count(1)
    assert answer.locator("a.mss-chat-link").get_attribute("href").startswith("http")

    # Esc closes and gives the focus back to the launcher.
    visitor.input.press("Escape")
    expect(page.get_by_role("dialog", name="Assistente My ScanSource")).to_be_hidden()
    expect(launcher).to_be_focused()

    [conversation] = visitor.conversation_ids()
    assert conversation.startswith("web-anon:")
    page.reload()
    visitor.open_chat()
    expect(visitor.log).to_contain_text("esqueci minha senha")
    expect(visitor.log).to_contain_text(FORGOT_PASSWORD)
    assert visitor.conversation_ids() == [conversation]

    # The answer's button is a quick reply: its title is shown, its payload sent.
    choice = visitor.log.get_by_role("button", name="Abrir um chamado")
    expect(choice).to_be_visible()
    choice.click()
    expect(visitor.log.locator(".mss-chat-user").last).to_have_text("Você: Abrir um chamado")
    expect(visitor.log).to_contain_text("Vou abrir um chamado para você", timeout=20_000)
    expect(visitor.log.get_by_role("button", name="Abrir um chamado")).to_have_count(0)
    assert "/open_ticket" not in visitor.log.inner_text()
    # The server got the conversation the widget was given, with the payload.
    assert tracker_user_texts(stack, conversation, "/open_ticket")[-2:] == ["esqueci minha senha", "/open_ticket"]


def test_a_logged_in_reseller_is_answered_without_a_code(stack, visitors):
    from playwright.sync_api import expect

    manager = listed_user(stack, Role.GERENCIADOR)
    today = date.today()
    with session_scope(stack.database_url) as db:
        order = db.scalars(select(Order).where(Order.reseller_id == manager.reseller_id)
                           .order_by(Order.number)).first()
        boleto = db.scalars(select(Boleto).where(Boleto.reseller_id == manager.reseller_id,
                                                 Boleto.paid_on.is_(None), Boleto.due_date >= today)).first()
        boleto_order = boleto.invoice.order.number
    visitor = visitors()
    visitor.log_in_as(manager.id)
    expect(visitor.page.get_by_text("Portal com login", exact=True)).to_be_visible()
    assert manager.cpf not in visitor.page.content()
    visitor.open_chat()
    visitor.say(f"status do pedido {order.number}")
    expect(visitor.log).to_contain_text(f"Pedido {order.number}", timeout=20_000)
    expect(visitor.log).to_contain_text(order.status.value)
    assert "CPF" not in visitor.log.inner_text()
    assert visitor.conversation_ids() == [f"web:{manager.id}"]

    visitor.say(f"preciso da 2a via do boleto do pedido {boleto_order}")
    expect(visitor.log).to_contain_text(boleto.linha_digitavel, timeout=20_000)
    card = visitor.log.get_by_role("link", name=re.compile("Baixar documento"))
    expect(card).to_have_count(1)
    href = card.get_attribute("href")
    assert "/documentos/" in href and href not in visitor.log.inner_text()
    pdf = requests.get(href, timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")

    # Another user logs in on the same browser: none of the first one's conversation.
    other = next(u for u in listed_users(stack) if u != manager.id)
    visitor.log_in_as(other)
    visitor.open_chat()
    expect(visitor.log).not_to_contain_text(f"Pedido {order.number}")
    expect(visitor.log.locator(".mss-chat-msg")).to_have_count(0)
    deadline = time.monotonic() + 10
    while f"web:{manager.id}" in visitor.conversation_ids():
        assert time.monotonic() < deadline, "the first user's history is still in the browser"
        time.sleep(0.2)  # it goes once the server confirms the new conversation
    visitor.say("esqueci minha senha")
    expect(visitor.log).to_contain_text(FORGOT_PASSWORD, timeout=20_000)
    assert visitor.conversation_ids() == [f"web:{other}"]


def test_a_forged_token_shows_the_refusal_and_does_not_retry(stack, visitors):
    from playwright.sync_api import expect

    user = listed_user(stack, Role.ADMINISTRADOR)
    with session_scope(stack.database_url) as db:
        cnpj = db.get(User, user.id).reseller.cnpj
    now = int(time.time())
    forged = jwt.encode({"aud": "my-scansource-chat", "iat": now, "exp": now + 600, "cpf": user.cpf,
                         "cnpj": cnpj, "role": "Administrador"}, "a-secret-the-server-does-not-know-00000",
                        algorithm="HS256")
    visitor = visitors()
    page = visitor.page

    # The page configures the widget with it, as an embedding portal page would.
    page.add_init_script(f"window.MyScanSourceChat = {{token: {json.dumps(forged)}}};")
    polls: list[str] = []
    page.on("request", lambda request: "/socket.io/" in request.url and polls.append(request.url))
    page.reload()
    visitor.open_chat()
    expect(page.get_by_role("alert")).to_contain_text("Não foi possível confirmar o seu login no portal",
                                                      timeout=15_000)
    expect(visitor.input).to_be_disabled()
    settled = len(polls)
    time.sleep(3)
    assert len(polls) == settled, "the widget kept trying after the refusal"
    assert visitor.conversation_ids() == []


def test_the_widget_fits_a_360_pixel_phone(stack, visitors):
    from playwright.sync_api import expect

    visitor = visitors(width=360, height=740)
    page = visitor.page
    visitor.open_chat()
    panel = page.get_by_role("dialog", name="Assistente My ScanSource")
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["width"] <= 360 and box["width"] >= 340 and box["height"] >= 700
    expect(visitor.input).to_be_in_viewport()
    expect(page.get_by_role("button", name="Enviar")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Fechar chat")).to_be_in_viewport()
    visitor.say("esqueci minha senha")
    expect(visitor.log).to_contain_text(FORGOT_PASSWORD, timeout=20_000)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    # What the visitor types is shown as text, never run as HTML.
    typed = '<img src=x onerror="document.title=1"><b>oi</b>'
    visitor.say(typed)
    expect(visitor.log.locator(".mss-chat-user").last).to_have_text(f"Você: {typed}")
    expect(visitor.log).to_contain_text("HTML ou SQL", timeout=20_000)
    expect(visitor.log.locator("img, b")).to_have_count(0)
    page.get_by_role("button", name="Fechar chat").click()
    expect(page.get_by_role("button", name="Abrir chat")).to_be_focused()


def test_the_widget_falls_back_to_long_polling_without_websockets(stack, visitors):
    from playwright.sync_api import expect

    visitor = visitors()
    page = visitor.page
    # A network where WebSockets fail, as behind a proxy that refuses them.
    page.add_init_script("""window.WebSocket = class {
        constructor() {
            this.readyState = 0;
            setTimeout(() => {
                this.readyState = 3;
                if (this.onerror) this.onerror(new Event("error"));
                if (this.onclose) this.onclose({code: 1006, reason: ""});
            }, 10);
        }
        send() {}
        close() {}
    };""")
    page.reload()
    visitor.open_chat()
    visitor.say("esqueci minha senha")
    expect(visitor.log).to_contain_text(FORGOT_PASSWORD, timeout=20_000)
    assert page.evaluate("() => performance.getEntriesByType('resource')"
                         ".some(e => e.name.includes('transport=polling'))")


def test_the_widget_reconnects_after_the_server_restarts(stack, visitors):
    from playwright.sync_api import expect

    visitor = visitors()
    page = visitor.page
    visitor.open_chat()
    visitor.say("esqueci minha senha")
    expect(visitor.log).to_contain_text(FORGOT_PASSWORD, timeout=20_000)
    [conversation] = visitor.conversation_ids()
    page.evaluate("""() => {
        window.__statuses = [];
        const status = document.querySelector('.mss-chat [role=status]');
        new MutationObserver(() => window.__statuses.push(status.textContent))
            .observe(status, {childList: true, characterData: true, subtree: true});
    }""")
    stack.restart_rasa()
    expect(page.locator(".mss-chat [role=status]")).to_have_text("", timeout=30_000)
    # The failed attempts while the server was down are expected errors.
    visitor.problems[:] = [p for p in visitor.problems if "ERR_CONNECTION_REFUSED" not in p]
    assert "Reconectando…" in page.evaluate("() => window.__statuses")
    visitor.say("nao consigo fazer login de jeito nenhum")
    expect(visitor.log).to_contain_text("Vamos resolver!", timeout=20_000)
    assert visitor.conversation_ids() == [conversation]
    assert tracker_user_texts(stack, conversation, "nao consigo fazer login de jeito nenhum")[-1] == \
        "nao consigo fazer login de jeito nenhum"


# --- The demo page over HTTP ------------------------------------------------------

def _csrf(session: requests.Session, base: str) -> str:
    page = session.get(f"{base}/", timeout=10)
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def test_the_demo_page_signs_only_for_a_listed_user_with_the_csrf_token(stack):
    base = stack.console_url
    users = listed_users(stack)
    assert len(users) >= 3 and {label.split(" · ")[1] for label in users.values()} == {r.value for r in Role}
    chosen = next(iter(users))
    browser = requests.Session()
    csrf = _csrf(browser, base)

    no_csrf = browser.post(f"{base}/demo/entrar", data={"usuario": chosen}, allow_redirects=False)
    other_site = requests.post(f"{base}/demo/entrar", data={"usuario": chosen, "csrf": csrf},
                               allow_redirects=False)
    assert no_csrf.status_code == 403 and other_site.status_code == 403
    assert "mss_demo_chat" not in browser.cookies
    with session_scope(stack.database_url) as db:
        unlisted = db.scalar(select(User.id).where(User.id.not_in(list(users))).order_by(User.id))
    for bad in (str(unlisted), "abc", ""):
        assert browser.post(f"{base}/demo/entrar", data={"usuario": bad, "csrf": csrf},
                            allow_redirects=False).status_code == 400
    assert "mss_demo_chat" not in browser.cookies

    signed = browser.post(f"{base}/demo/entrar", allow_redirects=False,
                          data={"usuario": chosen, "csrf": csrf, "cpf": "52998224725", "role": "Administrador",
                                "cnpj": "11222333000181", "exp": "9999999999"})
    assert signed.status_code == 303 and signed.headers["Location"] == "/"
    token = browser.cookies["mss_demo_chat"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="my-scansource-chat")
    with session_scope(stack.database_url) as db:
        user = db.get(User, chosen)
        assert (claims["cpf"], claims["cnpj"], claims["role"]) == (user.cpf, user.reseller.cnpj, user.role.value)
    assert claims["exp"] - claims["iat"] == 600
    assert "httponly" in signed.headers["Set-Cookie"].lower()

    page = browser.get(f"{base}/", timeout=10)
    assert f'data-token="{token}"' in page.text and user.cpf not in page.text
    policy = page.headers["Content-Security-Policy"]
    rasa = stack.rasa_url
    assert f"connect-src 'self' {rasa} {rasa.replace('http://', 'ws://')};" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy

    out = browser.post(f"{base}/demo/sair", data={"csrf": csrf}, allow_redirects=False)
    assert out.status_code == 303 and "mss_demo_chat" not in browser.cookies
    assert 'data-token=""' in browser.get(f"{base}/", timeout=10).text


def test_the_widget_files_are_served_with_their_types_and_a_long_cache(stack):
    expected = {"widget.js": "text/javascript", "widget.css": "text/css", "socket.io.min.js": "text/javascript"}
    for name, content_type in expected.items():
        answer = requests.get(f"{stack.console_url}/widget/{name}", timeout=10)
        assert answer.status_code == 200, name
        assert answer.headers["Content-Type"].startswith(content_type)
        assert answer.headers["Cache-Control"] == "public, max-age=86400"
        again = requests.get(f"{stack.console_url}/widget/{name}", timeout=10,
                             headers={"If-None-Match": answer.headers["ETag"]})
        assert again.status_code == 304
    for name in ("../package.json", "package.json", "socket.io.js", "%2e%2e%2fpackage.json"):
        assert requests.get(f"{stack.console_url}/widget/{name}", timeout=10).status_code == 404


@pytest.mark.parametrize("env", [{"DEMO_PORTAL": "false"},
                                 {"APP_ENV": "production", "DEMO_PORTAL": "true",
                                  "OTP_SECRET": "p" * 40, "DOWNLOAD_SECRET": "d" * 40,
                                  "RASA_AUTH_TOKEN": "r" * 40, "CHAT_JWT_SECRET": "c" * 40}],
                         ids=["DEMO_PORTAL=false", "APP_ENV=production"])
def test_without_the_demo_the_root_is_the_console_and_signing_is_gone(stack, tmp_path, env):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "console", "--port", str(port)], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": stack.database_url, "CONSOLE_WORKER": "false",
             "APP_ENV": "development", **env},
        stdout=open(tmp_path / "console.log", "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "console.log").read_text()
            time.sleep(0.1)
        root = requests.get(f"{base}/", allow_redirects=False, timeout=10)
        assert root.status_code == 302 and root.headers["Location"] == "/atendimento/"
        for action in ("entrar", "sair"):
            answer = requests.post(f"{base}/demo/{action}", data={"usuario": "1", "csrf": "x"},
                                   cookies={"mss_demo_csrf": "x"}, allow_redirects=False, timeout=10)
            assert answer.status_code == 404
        # The widget itself is still served: real portal pages embed it.
        assert requests.get(f"{base}/widget/widget.js", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
