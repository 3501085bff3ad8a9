"""The agents' console over real HTTP: ``python -m console`` on a free port with
a SQLite portal database of its own, a stand-in for Rasa's HTTP API, and a
tracker store for the insights page."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import requests
from sqlalchemy import select

from devtools.stack import free_port
from portal import agents, tickets
from portal.db import session_scope
from portal.hours import BusinessHours
from portal.ids import cnpj_check_digits, cpf_check_digits, format_cnpj, format_cpf
from portal.migrate import upgrade
from portal.models import (AgentRole, MessageKind, OutboxItem, Reseller, Role, Ticket, TicketCategory,
                           TicketMessage, TicketStatus, User, utcnow)
from portal.settings import settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "console-test-rasa-token"
PASSWORD = "senha-de-teste-123"
SCRIPT = "<script>alert('xss')</script>"


class FakeRasa:
    """The two calls the console makes to Rasa's HTTP API, with a token check.
    Senders in ``down`` get a 500, as if Rasa were failing."""

    def __init__(self) -> None:
        self.conversations: dict[str, list[dict]] = {}
        self.appends: list[dict] = []
        self.down: set[str] = set()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self):
                url = urlparse(self.path)
                match = re.fullmatch(r"/conversations/([^/]+)/tracker(/events)?", url.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                return (unquote(match.group(1)) if match else None), bool(match and match.group(2)), query

            def do_GET(self) -> None:
                sender, events, query = self._route()
                if sender is None or events:
                    return self._answer(404, {})
                if query.get("token") != TOKEN:
                    return self._answer(401, {"reason": "NotAuthenticated"})
                if sender in fake.down:
                    return self._answer(500, {"reason": "ConversationError"})
                with fake.lock:
                    return self._answer(200, {"sender_id": sender,
                                              "events": list(fake.conversations.get(sender, []))})

            def do_POST(self) -> None:
                sender, events, query = self._route()
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if sender is None or not events:
                    return self._answer(404, {})
                if query.get("token") != TOKEN:
                    return self._answer(401, {"reason": "NotAuthenticated"})
                if sender in fake.down:
                    return self._answer(500, {"reason": "ConversationError"})
                with fake.lock:
                    fake.appends.append({"sender": sender, "events": body, "query": query})
                    stored = fake.conversations.setdefault(sender, [])
                    stored += [{**event, "timestamp": time.time()} for event in body]
                return self._answer(200, {"sender_id": sender})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def appended_to(self, sender: str) -> list[dict]:
        with self.lock:
            return [a for a in self.appends if a["sender"] == sender]


def valid_cnpj(first_twelve: str) -> str:
    return first_twelve + cnpj_check_digits(first_twelve)


def valid_cpf(first_nine: str) -> str:
    return first_nine + cpf_check_digits(first_nine)


CNPJ_ANON = valid_cnpj("112223330001")
CNPJ_VERIFIED = valid_cnpj("445556660001")
CPF_VERIFIED = valid_cpf("529982247")


def open_ticket(db, key: str, category: TicketCategory, description: str = "Preciso de ajuda.",
                name: str = "Carla Revenda", cnpj: str = CNPJ_ANON, user_id: int | None = None,
                failed_turns=(), transcript=()) -> Ticket:
    request = tickets.TicketRequest(
        request_key=key, channel="rest", sender_id=f"conv-{key}", category=category,
        description=description, user_id=user_id,
        contact=None if user_id else tickets.Contact(name, "carla@revenda.example", cnpj),
        transcript=tuple(transcript), failed_turns=tuple(failed_turns))
    opened = tickets.open_ticket(db, request, BusinessHours.from_settings(settings()),
                                 timedelta(hours=8), timedelta(minutes=15))
    return tickets.get_ticket(db, opened.protocol)


def tracker_store(path) -> str:
    """A tracker store in Rasa's SQL schema with a few conversations."""
    now = time.time()
    missed = "action_not_understood"
    rows = [  # (type, intent, text, days ago, the action that answered it)
        ("user", "greet", "oi", 1, "utter_greet"),
        ("user", "nlu_fallback", "Qual o prazo  de ENTREGA em Manaus?", 1, missed),
        ("user", "nlu_fallback", "qual o prazo de entrega em manaus", 2, missed),
        ("user", "out_of_scope", "Vocês vendem café?", 3, missed),
        ("user", "nlu_fallback", "/affirm", 3, missed),
        ("user", "nlu_fallback", "   ", 3, missed),
        # A name typed into the ticket form: the form took it, not a failure.
        ("user", "nlu_fallback", "Maria Souza", 3, "ticket_form"),
        # While an agent has the conversation no action answers.
        ("user", "out_of_scope", "alô?", 3, None),
        ("user", "ask_order_status", "cadê meu pedido", 4, "action_lookup"),
        ("user", "nlu_fallback", "pergunta antiga", 45, missed),
        ("bot", None, "Olá!", 1, None),
    ]
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
                       "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
                       "action_name VARCHAR(255), data TEXT)")
    insert = ("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
              "VALUES (?, ?, ?, ?, ?, ?)")
    for kind, intent, text, days, action in rows:
        at = now - days * 86400
        connection.execute(insert, ("alguem", kind, at, intent, None, json.dumps({"event": kind, "text": text})))
        connection.execute(insert, ("alguem", "action", at, None, "action_listen", "{}"))
        if action:
            connection.execute(insert, ("alguem", "action", at, None, action, "{}"))
    connection.commit()
    connection.close()
    return f"sqlite:///{path}"


class Console:
    def __init__(self, url: str, database_url: str, rasa: FakeRasa, protocols: dict[str, str]) -> None:
        self.url = url
        self.database_url = database_url
        self.rasa = rasa
        self.protocols = protocols

    def ticket(self, name: str) -> str:
        return f"{self.url}/atendimento/chamados/{self.protocols[name]}"

    def outbox(self, protocol: str) -> list[OutboxItem]:
        with session_scope(self.database_url) as db:
            ticket_id = db.scalar(select(Ticket.id).where(Ticket.protocol == protocol))
            return list(db.scalars(select(OutboxItem).where(OutboxItem.ticket_id == ticket_id,
                                                            OutboxItem.kind != tickets.EMAIL)
                                   .order_by(OutboxItem.id)))


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("console")
    database_url = f"sqlite:///{workdir / 'portal.db'}"
    upgrade(database_url)
    with session_scope(database_url) as db:
        agents.create_agent(db, "ana@scansource.example", "Ana Atendente", AgentRole.AGENTE, PASSWORD)
        bruno = agents.create_agent(db, "bruno@scansource.example", "Bruno Pós-venda", AgentRole.AGENTE,
                                    PASSWORD)
        sofia = agents.create_agent(db, "sofia@scansource.example", "Sofia Supervisora",
                                    AgentRole.SUPERVISOR, PASSWORD)
        agents.create_agent(db, "trava@scansource.example", "Tânia Trava", AgentRole.AGENTE, PASSWORD)
        reseller = Reseller(cnpj=CNPJ_VERIFIED, razao_social="Revenda Verificada Ltda", region="Sudeste",
                            created_at=utcnow())
        db.add(reseller)
        db.flush()
        user = User(reseller_id=reseller.id, cpf=CPF_VERIFIED, name="Vera Verificada",
                    email="vera@verificada.example", role=Role.ADMINISTRADOR, active=True)
        db.add(user)
        db.flush()
        before = utcnow() - timedelta(minutes=3)
        made = {
            "anon": open_ticket(db, "anon", TicketCategory.DOCUMENTOS, f"A nota não aparece {SCRIPT}",
                                name=f"Carla {SCRIPT}",
                                transcript=[tickets.ChatLine(MessageKind.CLIENTE, f"oi {SCRIPT}", before)],
                                failed_turns=[{"text": "meu xml sumiu", "intent": "nlu_fallback",
                                               "confidence": 0.41,
                                               "ranking": [{"intent": "invoice_copy", "label": "2ª via de nota",
                                                            "confidence": 0.38}]}]),
            "verified": open_ticket(db, "verified", TicketCategory.PAGAMENTOS, "Boleto em dobro",
                                    user_id=user.id),
            "bruno": open_ticket(db, "bruno", TicketCategory.PEDIDOS, "Pedido atrasado"),
            "resolved": open_ticket(db, "resolved", TicketCategory.ACESSO, "Não consigo entrar"),
            "down": open_ticket(db, "down", TicketCategory.OUTRO, "Rasa fora do ar"),
            "live": open_ticket(db, "live", TicketCategory.OUTRO, "Quero falar com alguém"),
            "live2": open_ticket(db, "live2", TicketCategory.OUTRO, "Quero falar com alguém de novo"),
        }
        tickets.assign(db, made["bruno"], bruno, bruno)
        tickets.change_status(db, made["resolved"], sofia, TicketStatus.RESOLVIDO)
        for name in ("live", "live2"):
            made[name].live = True
            made[name].status = TicketStatus.AGUARDANDO_ATENDENTE
        protocols = {name: ticket.protocol for name, ticket in made.items()}
    rasa = FakeRasa()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": ROOT, "DATABASE_URL": database_url, "RASA_URL": rasa.url,
           "RASA_AUTH_TOKEN": TOKEN, "TRACKER_DATABASE_URL": tracker_store(workdir / "tracker.db"),
           "CONSOLE_WORKER": "true", "OUTBOX_INTERVAL": "0.3", "ZENDESK_URL": "", "DEMO_PORTAL": "false",
           "MAILDIR_PATH": str(workdir / "mail"), "SMTP_HOST": "",
           "CONSOLE_SECURE_COOKIE": "false", "APP_ENV": "development"}
    log = open(workdir / "console.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "console", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the console did not start: {(workdir / 'console.log').read_text()[-2000:]}")
        time.sleep(0.1)
    yield Console(base, database_url, rasa, protocols)
    process.terminate()
    process.wait(timeout=15)
    log.close()
    rasa.server.shutdown()


def csrf_in(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(console: Console, email: str = "ana@scansource.example", password: str = PASSWORD,
           next_path: str | None = None) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    form = browser.get(f"{console.url}/atendimento/entrar", params={"next": next_path} if next_path else None)
    answer = browser.post(f"{console.url}/atendimento/entrar", allow_redirects=False,
                          data={"csrf": csrf_in(form.text), "email": email, "senha": password,
                                "next": next_path or ""})
    return browser, answer


@pytest.fixture(scope="module")
def ana(console):
    return log_in(console)[0]


@pytest.fixture(scope="module")
def sofia(console):
    return log_in(console, "sofia@scansource.example")[0]


def protocols_listed(html: str) -> list[str]:
    return re.findall(r'<a href="/atendimento/chamados/(MSS-\d{4}-\d{6})">', html)


def post_form(browser: requests.Session, page_url: str, action: str, **fields) -> requests.Response:
    csrf = csrf_in(browser.get(page_url).text)
    return browser.post(f"{page_url}/{action}", data={"csrf": csrf, **fields}, allow_redirects=False)


# --- Login, sessions, CSRF ---------------------------------------------------

def test_pages_need_a_login(console):
    root = requests.get(f"{console.url}/", allow_redirects=False)
    assert root.status_code == 302 and root.headers["Location"] == "/atendimento/"
    for path in ["/atendimento/", f"/atendimento/chamados/{console.protocols['anon']}",
                 f"/atendimento/chamados/{console.protocols['anon']}/conversa", "/atendimento/indicadores"]:
        answer = requests.get(f"{console.url}{path}", allow_redirects=False)
        assert answer.status_code in (302, 303), path
        assert answer.headers["Location"] == f"/atendimento/entrar?next={path.replace('/', '%2F')}"
    before = len(console.outbox(console.protocols["anon"]))
    answer = requests.post(f"{console.ticket('anon')}/responder", data={"texto": "oi"}, allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/atendimento/entrar")
    assert len(console.outbox(console.protocols["anon"])) == before
    login = requests.get(f"{console.url}/atendimento/entrar")
    assert 'lang="pt-BR"' in login.text and '<label for="email">E-mail</label>' in login.text


def test_a_wrong_password_gets_one_message_and_five_lock_the_account(console):
    for email in ["ninguem@scansource.example", "trava@scansource.example"]:
        _, answer = log_in(console, email, "senha-errada-000")
        assert answer.status_code == 200 and "E-mail ou senha incorretos." in answer.text
        assert "mss_console" not in answer.cookies
    for _ in range(3):
        log_in(console, "trava@scansource.example", "senha-errada-000")
    _, fifth = log_in(console, "trava@scansource.example", "senha-errada-000")
    assert "Muitas tentativas. Tente de novo em 15 minutos." in fifth.text
    _, right = log_in(console, "trava@scansource.example", PASSWORD)
    assert "Muitas tentativas. Tente de novo em 15 minutos." in right.text
    assert "mss_console" not in right.cookies


def test_the_session_cookie_is_http_only_strict_and_next_stays_local(console):
    protocol = console.protocols["anon"]
    _, answer = log_in(console, next_path=f"/atendimento/chamados/{protocol}")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/atendimento/chamados/{protocol}"
    cookie = next(c for c in answer.raw.headers.getlist("Set-Cookie") if c.startswith("mss_console="))
    flags = [part.strip() for part in cookie.split(";")]
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/atendimento" in flags
    assert "Secure" not in flags  # CONSOLE_SECURE_COOKIE=false here
    for elsewhere in ["https://evil.example/atendimento/", "//evil.example/", "/documentos/x",
                      "/atendimento/\r\nSet-Cookie: x=1"]:
        _, answer = log_in(console, next_path=elsewhere)
        assert answer.headers["Location"] == "/atendimento/", elsewhere


def test_the_login_form_needs_its_csrf_token(console):
    answer = requests.post(f"{console.url}/atendimento/entrar", allow_redirects=False,
                           data={"email": "ana@scansource.example", "senha": PASSWORD})
    assert answer.status_code == 403 and "O formulário expirou" in answer.text
    assert "mss_console" not in answer.cookies


def test_a_post_without_the_session_csrf_token_is_refused(console, ana):
    before = len(console.outbox(console.protocols["anon"]))
    for data in [{"texto": "sem token"}, {"texto": "token errado", "csrf": "x" * 43},
                 {"texto": "não ascii", "csrf": "çç"}]:
        answer = ana.post(f"{console.ticket('anon')}/responder", data=data, allow_redirects=False)
        assert answer.status_code == 403 and "Acesso negado" in answer.text
    assert ana.post(f"{console.url}/atendimento/sair", allow_redirects=False).status_code == 403
    assert len(console.outbox(console.protocols["anon"])) == before
    assert ana.get(f"{console.url}/atendimento/", allow_redirects=False).status_code == 200


def test_logging_out_invalidates_the_cookie(console):
    browser, _ = log_in(console)
    token = browser.cookies["mss_console"]
    queue = browser.get(f"{console.url}/atendimento/")
    assert "Ana Atendente" in queue.text and "Agente" in queue.text
    answer = browser.post(f"{console.url}/atendimento/sair", data={"csrf": csrf_in(queue.text)},
                          allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["Location"] == "/atendimento/entrar"
    assert "mss_console" not in browser.cookies
    stale = requests.get(f"{console.url}/atendimento/", cookies={"mss_console": token}, allow_redirects=False)
    assert stale.status_code == 303 and stale.headers["Location"].startswith("/atendimento/entrar")


def test_console_responses_carry_the_security_headers(console, ana):
    for answer in [ana.get(f"{console.url}/atendimento/"), requests.get(f"{console.url}/atendimento/entrar")]:
        assert answer.headers["Content-Security-Policy"] == (
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
            "base-uri 'none'")
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"
        assert answer.headers["Cache-Control"] == "no-store"
        assert "<script>" not in answer.text and "style=" not in answer.text  # nothing inline
    for asset in ["console.css", "console.js"]:
        answer = requests.get(f"{console.url}/atendimento/static/{asset}")
        assert answer.status_code == 200 and answer.headers.get("Cache-Control") != "no-store"
    document = requests.get(f"{console.url}/documentos/not-a-token")
    assert document.status_code == 403 and "Link inválido" in document.text
    assert "Content-Security-Policy" not in document.headers  # unchanged: its page has its own style


# --- The queue ---------------------------------------------------------------

def test_the_queue_filters_and_searches(console, ana):
    p = console.protocols
    queue = lambda **params: protocols_listed(ana.get(f"{console.url}/atendimento/", params=params).text)
    opened = queue()
    assert p["anon"] in opened and p["verified"] in opened and p["resolved"] not in opened
    assert queue(status="resolvido") == [p["resolved"]]
    assert queue(status="todos").count(p["resolved"]) == 1
    assert queue(categoria="pagamentos") == [p["verified"]]
    working = queue(status="em atendimento")
    assert p["bruno"] in working and p["verified"] not in working and p["resolved"] not in working
    assert p["anon"] in queue(canal="rest") and queue(canal="whatsapp") == []
    number = int(p["verified"].rsplit("-", 1)[1])
    for term in [p["verified"], p["verified"].lower().replace("-", " "), str(number),
                 format_cnpj(CNPJ_VERIFIED), format_cpf(CPF_VERIFIED)]:
        assert queue(busca=term) == [p["verified"]], term
    assert queue(busca=p["resolved"]) == [p["resolved"]]  # a search looks past the open ones
    assert p["verified"] not in queue(busca=format_cnpj(CNPJ_ANON))
    empty = ana.get(f"{console.url}/atendimento/", params={"busca": "MSS-2026-999999"}).text
    assert "Nenhum chamado encontrado" in empty
    page = ana.get(f"{console.url}/atendimento/").text
    assert 'badge verified">verificado' in page and "Bruno Pós-venda" in page and "ao vivo" in page
    assert ana.get(f"{console.url}/atendimento/", params={"status": "inventado"}).status_code == 400


def test_customer_text_is_rendered_escaped(console, ana):
    escaped = "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;"
    for url in [f"{console.url}/atendimento/", console.ticket("anon"), f"{console.ticket('anon')}/conversa"]:
        html = ana.get(url).text
        assert "<script>alert" not in html, url
        assert escaped in html, url


# --- A ticket ----------------------------------------------------------------

def test_the_ticket_page_shows_who_the_customer_is(console, ana):
    verified = ana.get(console.ticket("verified")).text
    assert "Vera Verificada" in verified and "Revenda Verificada Ltda" in verified
    assert format_cnpj(CNPJ_VERIFIED) in verified and "Administrador" in verified
    assert f"***.{CPF_VERIFIED[3:6]}.{CPF_VERIFIED[6:9]}-**" in verified
    assert CPF_VERIFIED not in verified and format_cpf(CPF_VERIFIED) not in verified
    anonymous = ana.get(console.ticket("anon")).text
    assert "Informado no chat, não verificado." in anonymous and format_cnpj(CNPJ_ANON) in anonymous
    assert "conv-anon" in anonymous and "Documentos" in anonymous
    assert "antes do chamado" in anonymous and "O que o assistente não entendeu" in anonymous
    assert "meu xml sumiu" in anonymous and "41,0%" in anonymous
    assert "2ª via de nota (38,0%)" in anonymous  # the agent reads the question, not an intent name
    assert "Aberto no canal API (REST)." in anonymous  # the timeline
    assert f'data-poll="/atendimento/chamados/{console.protocols["anon"]}/conversa"' in anonymous
    assert "data-poll" not in ana.get(console.ticket("resolved")).text
    missing = ana.get(f"{console.url}/atendimento/chamados/MSS-2026-999999")
    assert missing.status_code == 404 and "Chamado não encontrado" in missing.text


def test_an_agent_cannot_act_on_a_colleagues_ticket_but_a_supervisor_can(console, ana, sofia):
    page = ana.get(console.ticket("bruno")).text
    assert "Atribuído a Bruno Pós-venda" in page
    assert "/responder" not in page and "/status" not in page and "/atribuir" not in page
    csrf = csrf_in(page)
    for action, data in [("responder", {"texto": "posso?"}), ("status", {"status": "resolvido"}),
                         ("atribuir", {"para": "eu"}), ("devolver", {})]:
        answer = ana.post(f"{console.ticket('bruno')}/{action}", data={"csrf": csrf, **data},
                          allow_redirects=False)
        assert answer.status_code == 403, action
        assert "atribuído a outra pessoa" in answer.text
    assert console.outbox(console.protocols["bruno"]) == []
    answer = post_form(sofia, console.ticket("bruno"), "responder", texto="Resposta da supervisora")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("?ok=resposta")
    assert [item.kind for item in console.outbox(console.protocols["bruno"])] == [tickets.CHAT_MESSAGE]
    with session_scope(console.database_url) as db:
        ana_id = next(a.id for a in agents.active_agents(db) if a.name == "Ana Atendente")
    answer = post_form(sofia, console.ticket("bruno"), "atribuir", para=str(ana_id))
    assert answer.status_code == 303
    assert "Atribuído a Ana Atendente." in ana.get(console.ticket("bruno")).text


def test_a_reply_is_stored_and_reaches_the_customers_conversation(console, ana):
    protocol = console.protocols["anon"]
    empty = post_form(ana, console.ticket("anon"), "responder", texto="   ")
    assert empty.status_code == 303 and empty.headers["Location"].endswith("?erro=vazio")
    assert console.outbox(protocol) == []
    answer = post_form(ana, console.ticket("anon"), "responder", texto="Olá! Já verifiquei a sua nota.")
    assert answer.status_code == 303
    page = ana.get(f"{console.url}{answer.headers['Location']}").text
    assert "Resposta registrada." in page
    [item] = console.outbox(protocol)
    with session_scope(console.database_url) as db:
        message = db.scalars(select(TicketMessage).where(
            TicketMessage.kind == MessageKind.AGENTE,
            TicketMessage.body == "Olá! Já verifiquei a sua nota.")).one()
    assert item.kind == tickets.CHAT_MESSAGE and item.key == f"reply:{message.id}"
    assert item.payload["sender_id"] == "conv-anon" and item.sent_at is not None
    [sent] = console.rasa.appended_to("conv-anon")
    assert sent["query"]["execute_side_effects"] == "true" and sent["query"]["output_channel"] == "latest"
    [event] = sent["events"]
    assert event["event"] == "bot" and "Olá! Já verifiquei a sua nota." in event["text"]
    assert event["metadata"] == {"delivery": item.key, "handoff": True}
    assert 'delivery-entregue">entregue' in page
    assert "Em atendimento" in page and "Ana Atendente" in page


def test_notes_stay_inside_and_a_hand_back_resumes_the_conversation(console, ana, sofia):
    answer = post_form(ana, console.ticket("live"), "nota", texto="Cliente ligou também.")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("?ok=nota")
    page = ana.get(console.ticket("live")).text
    assert "Nota interna (o cliente não vê)" in page and "Cliente ligou também." in page
    assert "Devolver ao assistente" in page and "ao vivo" in page
    assert console.rasa.appended_to("conv-live") == []
    answer = post_form(ana, console.ticket("live"), "devolver")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("?ok=devolvido")
    [sent] = console.rasa.appended_to("conv-live")
    assert [e["event"] for e in sent["events"]] == ["resume", "action", "bot"]
    assert sent["events"][1]["name"] == "action_listen"
    assert sent["events"][2]["text"] == tickets.RESUME_TEXT
    assert "Devolver ao assistente" not in ana.get(console.ticket("live")).text
    answer = post_form(sofia, console.ticket("live2"), "status", status="resolvido")
    assert answer.status_code == 303
    [sent] = console.rasa.appended_to("conv-live2")
    assert sent["events"][0] == {"event": "resume"}
    assert console.protocols["live2"] in sent["events"][2]["text"]


def test_customer_messages_are_copied_from_the_chat_once(console, ana):
    with session_scope(console.database_url) as db:
        created = db.scalar(select(Ticket.created_at).where(Ticket.protocol == console.protocols["verified"]))
    opened = created.replace(tzinfo=timezone.utc).timestamp()
    console.rasa.conversations["conv-verified"] = [
        {"event": "user", "text": "mensagem antes do chamado", "timestamp": opened - 30},
        {"event": "user", "text": "sim", "timestamp": opened + 0.5},  # confirmed the ticket
        {"event": "bot", "text": "Chamado aberto", "timestamp": opened + 0.7},
        {"event": "user", "text": "/affirm", "timestamp": opened + 40},
        {"event": "user", "text": "Esqueci: o boleto é de novembro. CPF 529.982.247-25",
         "timestamp": opened + 60},
    ]
    for _ in range(2):
        page = ana.get(console.ticket("verified")).text
        fragment = ana.get(f"{console.ticket('verified')}/conversa").text
    assert "Esqueci: o boleto é de novembro." in page and "Esqueci: o boleto é de novembro." in fragment
    assert "<html" not in fragment and "Não foi possível" not in page
    with session_scope(console.database_url) as db:
        bodies = db.scalars(select(TicketMessage.body).join(Ticket).where(
            Ticket.protocol == console.protocols["verified"],
            TicketMessage.kind == MessageKind.CLIENTE)).all()
    assert bodies == ["Esqueci: o boleto é de novembro. CPF ***.982.247-**"]


def test_with_rasa_down_the_page_opens_and_the_worker_delivers_the_reply_later(console, ana):
    console.rasa.down.add("conv-down")
    page = ana.get(console.ticket("down"))
    assert page.status_code == 200 and "Não foi possível atualizar a conversa agora." in page.text
    answer = post_form(ana, console.ticket("down"), "responder", texto="Estamos vendo isso.")
    assert answer.status_code == 303
    assert 'delivery-pendente">pendente' in ana.get(console.ticket("down")).text
    [item] = console.outbox(console.protocols["down"])
    assert item.sent_at is None and item.attempts >= 1
    console.rasa.down.discard("conv-down")
    deadline = time.monotonic() + 20  # the first retry comes 4-5 s later (backoff)
    while console.outbox(console.protocols["down"])[0].sent_at is None:
        assert time.monotonic() < deadline, "the worker did not deliver the reply"
        time.sleep(0.3)
    assert len(console.rasa.appended_to("conv-down")) == 1
    assert 'delivery-entregue">entregue' in ana.get(console.ticket("down")).text


def test_a_retry_does_not_send_twice_what_rasa_already_has(console):
    from console.delivery import chat_handlers
    from console.rasa_api import RasaClient
    from portal.outbox import Delivery

    handlers = chat_handlers(RasaClient(console.rasa.url, TOKEN))
    payload = {"sender_id": "conv-retry", "channel": "rest", "text": "Oi de novo",
               "ticket": "MSS-2026-000001"}
    first = Delivery(1, tickets.CHAT_MESSAGE, "reply:retry", payload, None, "conv-retry", attempts=1)
    assert handlers[tickets.CHAT_MESSAGE](first) == "appended"
    # The answer was lost: the outbox tries again, and Rasa already has the message.
    retry = Delivery(1, tickets.CHAT_MESSAGE, "reply:retry", payload, None, "conv-retry", attempts=2)
    assert handlers[tickets.CHAT_MESSAGE](retry) == "already in the conversation"
    assert len(console.rasa.appended_to("conv-retry")) == 1
    other = Delivery(2, tickets.CHAT_MESSAGE, "reply:other", payload, None, "conv-retry", attempts=2)
    assert handlers[tickets.CHAT_MESSAGE](other) == "appended"


# --- Insights ----------------------------------------------------------------

def test_the_insights_page_counts_tickets_and_what_the_assistant_missed(console, ana):
    with session_scope(console.database_url) as db:
        ticket_id = db.scalar(select(Ticket.id).where(Ticket.protocol == console.protocols["resolved"]))
        db.add(OutboxItem(kind=tickets.CHAT_MESSAGE, key="reply:rejected", ticket_id=ticket_id, payload={},
                          created_at=utcnow(), attempts=20, next_attempt_at=utcnow(), failed_at=utcnow(),
                          last_error="PermanentError: rejected"))
    page = ana.get(f"{console.url}/atendimento/indicadores").text
    assert "Entregas que falharam" in page and "Resposta no chat" in page
    assert f'<a href="/atendimento/chamados/{console.protocols["resolved"]}">' in page
    assert re.search(r"<td>Documentos</td><td class=\"number\">1</td>", page)
    assert re.search(r"<td>Resolvido</td><td class=\"number\">\d+</td>", page)
    total = len(console.protocols)
    assert f"(1 de {total})" in page  # one ticket came after turns the assistant missed
    # 9 user turns in 30 days, 5 of them answered as not understood; "/affirm"
    # and blanks are not questions.
    assert "55,6%" in page and "(5 de 9)" in page
    questions = re.findall(r"<tr><td>([^<]+)</td><td class=\"number\">(\d+)</td></tr>",
                           page.split("não soube responder")[1])
    assert questions == [("Qual o prazo  de ENTREGA em Manaus?", "2"), ("Vocês vendem café?", "1")]


def test_no_tracker_store_means_no_chat_figures_and_nothing_is_created(tmp_path):
    from portal import insights

    missing = tmp_path / "nada" / "tracker.db"
    assert insights.chat_figures(f"sqlite:///{missing}", utcnow()) is None
    assert not missing.exists() and not missing.parent.exists()
    empty = tmp_path / "vazio.db"
    sqlite3.connect(empty).close()
    assert insights.chat_figures(f"sqlite:///{empty}", utcnow()) is None
    assert insights.normalize_question("  Qual   o PRAZO\tde entrega? ") == "qual o prazo de entrega"
    assert insights.normalize_question("Você  EMITE nota?") == insights.normalize_question("voce emite nota")
