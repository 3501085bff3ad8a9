"""The outbox delivering tickets to a local imitation of Zendesk, on SQLite and
PostgreSQL: outages, timeouts, rejections, backoff, ordering, concurrent workers.

Each test uses outbox kinds of its own: the database is shared by the whole
session, and a worker only sees the kinds it has handlers for.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from portal import helpdesk, outbox
from portal.db import session_scope
from portal.models import MessageKind, OutboxItem, Ticket, TicketCategory, TicketMessage, TicketStatus
from portal.outbox import DeliveryReport, deliver_due
from portal.settings import settings

EMAIL = "integracao@scansource.example"
TOKEN = "zendesk-test-token"
CLIENT_TIMEOUT = 0.3
START = datetime(2026, 12, 4, 14, 0, 0)


class FakeZendesk:
    """POST /api/v2/tickets.json as Zendesk answers it, as far as we rely on it:
    API token auth, and an Idempotency-Key that replays the first answer
    (``x-idempotency-lookup: hit``) or is refused when reused with another body.

    ``script`` holds what the next requests do: an HTTP status to fail with,
    or "slow" to create the ticket and answer after the client's timeout.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.tickets: dict[int, dict] = {}
        self.keys: dict[str, tuple[int, dict]] = {}
        self.script: list = []
        self.lock = threading.Lock()
        self.url = ""

    def handle(self, path: str, headers: dict, body: dict) -> tuple[int, dict, dict]:
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            step = self.script.pop(0) if self.script else None
            expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
            if headers.get("Authorization") != expected:
                return 401, {}, {"error": "Couldn't authenticate you"}
            if isinstance(step, int):
                return step, {}, {"error": "RecordInvalid" if step == 422 else "Failure"}
            key = headers.get("Idempotency-Key")
            if key in self.keys:
                ticket_id, first_body = self.keys[key]
                if first_body != body:
                    return 400, {}, {"error": "IdempotentRequestError"}
                lookup = "hit"
            else:
                ticket_id = len(self.tickets) + 1001
                self.tickets[ticket_id] = body["ticket"]
                if key:
                    self.keys[key] = (ticket_id, body)
                lookup = "miss"
        if step == "slow":
            time.sleep(CLIENT_TIMEOUT * 3)
        return 201, {"x-idempotency-lookup": lookup}, {"ticket": {"id": ticket_id, **body["ticket"]}}

    def search(self, path: str, headers: dict) -> tuple[int, dict, dict]:
        """GET /api/v2/tickets.json?external_id=...: the tickets with that external id."""
        from urllib.parse import parse_qs, urlsplit

        with self.lock:
            self.requests.append({"path": path, "headers": headers, "body": None})
            wanted = parse_qs(urlsplit(path).query)["external_id"][0]
            found = [{"id": i, **t} for i, t in self.tickets.items() if t.get("external_id") == wanted]
        return 200, {}, {"tickets": found}

    def request_handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if not self.path.startswith("/api/v2/tickets.json?external_id="):
                    return self._answer(404, {}, {"error": "InvalidEndpoint"})
                self._answer(*fake.search(self.path, dict(self.headers)))

            def _answer(self, status, headers, answer):
                data = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {**headers, "Content-Type": "application/json",
                                    "Content-Length": str(len(data))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path != "/api/v2/tickets.json":
                    status, headers, answer = 404, {}, {"error": "InvalidEndpoint"}
                else:
                    status, headers, answer = fake.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    for name, value in {**headers, "Content-Type": "application/json",
                                        "Content-Length": str(len(data))}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up ("slow")
                    pass

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def zendesk():
    fake = FakeZendesk()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.request_handler())
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(database_url, zendesk):
    """(url, fake Zendesk, clock, handlers, kind) with a kind unique to the test."""
    kind = f"zt-{uuid.uuid4().hex[:12]}"
    return database_url, zendesk, Clock(), {kind: make_handler(database_url, zendesk)}, kind


def make_handler(url, fake):
    config = replace(settings(), zendesk_url=fake.url + "/", zendesk_email=EMAIL,
                     zendesk_token=TOKEN, zendesk_timeout=CLIENT_TIMEOUT)
    return helpdesk.handler(config, url)


def make_ticket(url) -> tuple[int, str]:
    token = uuid.uuid4().hex[:10]
    with session_scope(url) as session:
        ticket = Ticket(
            protocol=f"MSS-T-{token}", request_key=f"test-{token}", status=TicketStatus.NOVO,
            category=TicketCategory.DOCUMENTOS, description="Preciso da segunda via da NF 123.",
            channel="socketio", sender_id=f"sender-{token}",
            contact_name="Ana Souza", contact_email=f"ana.{token}@revenda.example",
            contact_cnpj="11222333000181", failed_turns=[],
            created_at=START, updated_at=START, due_at=START + timedelta(hours=8),
        )
        ticket.messages = [
            TicketMessage(kind=MessageKind.CLIENTE, body="quero a segunda via da nota",
                          in_transcript=True, created_at=START),
            TicketMessage(kind=MessageKind.ASSISTENTE, body="Vou abrir um chamado para você.",
                          in_transcript=True, created_at=START),
            TicketMessage(kind=MessageKind.NOTA, body="nota interna, não enviar",
                          created_at=START + timedelta(minutes=1)),
        ]
        session.add(ticket)
        session.flush()
        return ticket.id, ticket.protocol


def enqueue_ticket(url, kind, clock, conversation=None) -> tuple[int, str, str]:
    """(outbox id, outbox key, protocol) of a new ticket queued for Zendesk."""
    ticket_id, protocol = make_ticket(url)
    with session_scope(url) as session:
        item = outbox.enqueue(session, kind, f"zendesk:{protocol}", {"ticket_id": ticket_id},
                              ticket_id=ticket_id, conversation=conversation, now=clock())
        return item.id, item.key, protocol


def row(url, item_id) -> OutboxItem:
    with session_scope(url) as session:
        return session.get(OutboxItem, item_id)


def test_an_outage_is_retried_until_zendesk_creates_one_ticket(env):
    url, fake, clock, handlers, kind = env
    item_id, key, protocol = enqueue_ticket(url, kind, clock)
    fake.script = [500, 503, 429]
    for _ in range(3):
        assert deliver_due(url, handlers, now=clock) == DeliveryReport(retried=1)
        clock.now = row(url, item_id).next_attempt_at
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(sent=1)

    (remote_id, remote), = fake.tickets.items()
    sent = row(url, item_id)
    assert (sent.sent_at, sent.result, sent.attempts) == (clock.now, str(remote_id), 4)
    assert sent.last_error is None and sent.claimed_until is None and sent.failed_at is None
    posts = [r for r in fake.requests if r["body"] is not None]
    assert len(posts) == 4 and len(fake.requests) == 7  # each retry looked the ticket up first
    auth = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
    for request in posts:
        assert request["path"] == "/api/v2/tickets.json"
        assert request["headers"]["Idempotency-Key"] == key
        assert request["headers"]["Authorization"] == auth
    assert remote["external_id"] == protocol
    assert remote["subject"] == f"[{protocol}] Documentos - Ana Souza"
    assert remote["requester"] == {"name": "Ana Souza", "email": f"ana.{protocol[6:]}@revenda.example"}
    assert remote["tags"] == ["my-scansource", "categoria-documentos", "canal-socketio"]
    body = remote["comment"]["body"]
    assert body.startswith("Preciso da segunda via da NF 123.")
    assert "CNPJ: 11.222.333/0001-81 | Identidade verificada: não" in body
    assert "Cliente: quero a segunda via da nota\nAssistente: Vou abrir um chamado para você." in body
    assert "nota interna" not in body


def test_a_timeout_after_zendesk_created_the_ticket_does_not_duplicate_it(env):
    url, fake, clock, handlers, kind = env
    item_id, key, _ = enqueue_ticket(url, kind, clock)
    fake.script = ["slow"]
    started = time.monotonic()
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(retried=1)
    assert time.monotonic() - started < CLIENT_TIMEOUT * 3  # the client did not wait for the answer
    waiting = row(url, item_id)
    assert waiting.sent_at is None and waiting.last_error.startswith("HelpdeskUnavailable")
    assert len(fake.tickets) == 1  # Zendesk has it; we do not know

    fake.keys.clear()  # hours later Zendesk has forgotten the idempotency key
    clock.now = waiting.next_attempt_at
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(sent=1)
    (remote_id,) = fake.tickets
    assert row(url, item_id).result == str(remote_id)
    assert fake.requests[0]["headers"]["Idempotency-Key"] == key
    assert fake.requests[1]["path"].startswith("/api/v2/tickets.json?external_id=MSS-")


def test_a_retry_creates_the_ticket_when_the_first_attempt_never_arrived(env):
    url, fake, clock, handlers, kind = env
    item_id, key, _ = enqueue_ticket(url, kind, clock)
    fake.script = [503]
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(retried=1)
    clock.now = row(url, item_id).next_attempt_at
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(sent=1)
    assert [r["body"] is None for r in fake.requests] == [False, True, False]  # POST, lookup, POST
    assert len(fake.tickets) == 1 and fake.requests[2]["headers"]["Idempotency-Key"] == key


def test_a_rejected_ticket_fails_for_good_and_shows_in_the_console(env):
    url, fake, clock, handlers, kind = env
    with session_scope(url) as session:
        pending = outbox.pending_count(session)
    first_id, *_ = enqueue_ticket(url, kind, clock)
    second_id, *_ = enqueue_ticket(url, kind, clock)
    with session_scope(url) as session:
        assert outbox.pending_count(session) == pending + 2
    fake.script = [422]
    assert deliver_due(url, handlers, now=clock, limit=1) == DeliveryReport(failed=1)
    clock.now += timedelta(minutes=1)
    fake.script = [422]
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(failed=1)

    failed = row(url, first_id)
    assert (failed.failed_at, failed.attempts, failed.sent_at) == (START, 1, None)
    assert failed.last_error.startswith("PermanentError: Zendesk answered 422:")
    assert "RecordInvalid" in failed.last_error
    clock.now += timedelta(days=2)
    assert deliver_due(url, handlers, now=clock) == DeliveryReport()
    assert len(fake.requests) == 2 and not fake.tickets
    with session_scope(url) as session:
        assert outbox.pending_count(session) == pending
        ids = [item.id for item in outbox.failures(session, limit=1000)]
    assert ids.index(second_id) < ids.index(first_id)  # newest first


def test_a_failed_attempt_waits_for_its_backoff(env):
    url, fake, clock, handlers, kind = env
    item_id, *_ = enqueue_ticket(url, kind, clock)
    fake.script = [500]
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(retried=1)
    waiting = row(url, item_id)
    assert START + timedelta(seconds=4) <= waiting.next_attempt_at <= START + timedelta(seconds=5)
    assert waiting.last_error.startswith("HelpdeskUnavailable: Zendesk answered 500:")
    assert waiting.claimed_until is None and waiting.attempts == 1

    clock.now = waiting.next_attempt_at - timedelta(seconds=1)
    assert deliver_due(url, handlers, now=clock) == DeliveryReport()
    assert len(fake.requests) == 1
    clock.now = waiting.next_attempt_at
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(sent=1)


def test_backoff_doubles_up_to_an_hour_with_jitter():
    for attempt in range(1, 30):
        delay = min(3600, 5 * 2 ** (attempt - 1))
        waits = {outbox.backoff(attempt).total_seconds() for _ in range(20)}
        assert all(0.8 * delay <= wait <= delay for wait in waits)
        assert len(waits) > 1


def test_an_item_that_keeps_failing_stops_after_max_attempts(env):
    url, fake, clock, handlers, kind = env
    item_id, *_ = enqueue_ticket(url, kind, clock)
    fake.script = [500] * outbox.MAX_ATTEMPTS
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        assert deliver_due(url, handlers, now=clock) == DeliveryReport(retried=1)
        clock.now = row(url, item_id).next_attempt_at
    assert clock.now - START > timedelta(hours=8)
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(failed=1)
    failed = row(url, item_id)
    assert failed.attempts == outbox.MAX_ATTEMPTS and failed.failed_at == clock.now
    assert len([r for r in fake.requests if r["body"] is not None]) == outbox.MAX_ATTEMPTS


def test_items_of_a_conversation_go_in_order(env):
    url, fake, clock, handlers, kind = env
    conversation = f"conv-{uuid.uuid4().hex}"
    first_id, first_key, _ = enqueue_ticket(url, kind, clock, conversation)
    second_id, second_key, _ = enqueue_ticket(url, kind, clock, conversation)
    other_id, other_key, _ = enqueue_ticket(url, kind, clock, conversation=None)
    fake.script = [500]
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(sent=1, retried=1)
    clock.now += timedelta(seconds=1)
    assert deliver_due(url, handlers, now=clock) == DeliveryReport()  # the second waits

    clock.now = row(url, first_id).next_attempt_at
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(sent=1)
    assert row(url, second_id).sent_at is None
    assert deliver_due(url, handlers, now=clock) == DeliveryReport(sent=1)
    keys = [r["headers"]["Idempotency-Key"] for r in fake.requests if r["body"] is not None]
    assert keys == [first_key, other_key, first_key, second_key]
    assert int(row(url, first_id).result) < int(row(url, second_id).result)


def test_concurrent_workers_deliver_each_item_once(env):
    url, fake, clock, _, kind = env
    items = [enqueue_ticket(url, kind, clock) for _ in range(6)]
    workers = 4
    start = threading.Barrier(workers)
    reports = []

    def work():
        handlers = {kind: make_handler(url, fake)}
        start.wait()
        reports.append(deliver_due(url, handlers, now=clock))

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 6 and not any(r.retried or r.failed for r in reports)
    assert sorted(r["headers"]["Idempotency-Key"] for r in fake.requests) == sorted(k for _, k, _ in items)
    assert len(fake.tickets) == 6
    assert {row(url, item_id).attempts for item_id, _, _ in items} == {1}


def test_enqueue_is_idempotent_on_the_key(env):
    url, _, clock, _, kind = env
    key = f"zendesk:{uuid.uuid4().hex}"
    with session_scope(url) as session:
        first = outbox.enqueue(session, kind, key, {"ticket_id": 1}, now=clock())
    with session_scope(url) as session:
        again = outbox.enqueue(session, kind, key, {"ticket_id": 2}, now=clock())
        assert again.id == first.id and again.payload == {"ticket_id": 1}
        assert session.scalar(select(func.count()).where(OutboxItem.key == key)) == 1


def test_a_verified_customer_is_marked_so_in_the_ticket():
    ticket = Ticket(protocol="MSS-2026-000123", category=TicketCategory.PAGAMENTOS, user_id=7,
                    description="Boleto vencido.", channel="whatsapp", contact_name="Ana Souza",
                    contact_email="ana@revenda.example", contact_cnpj="11222333000181")
    payload = helpdesk.ticket_payload(ticket)
    assert payload["subject"] == "[MSS-2026-000123] Pagamentos - Ana Souza"
    assert "Identidade verificada: sim" in payload["comment"]["body"]
    assert "Conversa com o assistente" not in payload["comment"]["body"]  # no transcript
    assert payload["tags"][1:] == ["categoria-pagamentos", "canal-whatsapp"]


def test_helpdesk_is_off_without_a_url():
    with pytest.raises(ValueError):
        helpdesk.handler(replace(settings(), zendesk_url=""), None)


def test_the_worker_loop_delivers_and_survives_failing_rounds(env, caplog):
    url, fake, _, handlers, kind = env
    ticket_id, _ = make_ticket(url)
    with session_scope(url) as session:
        item_id = outbox.enqueue(session, kind, f"zendesk:{uuid.uuid4().hex}", {"ticket_id": ticket_id}).id
    stop = threading.Event()
    broken = threading.Thread(target=outbox.run_forever,
                              args=("nosuchdriver://x", handlers, 0.01, stop))
    working = threading.Thread(target=outbox.run_forever, args=(url, handlers, 0.01, stop))
    with caplog.at_level(logging.ERROR, logger="portal.outbox"):
        broken.start()
        working.start()
        deadline = time.monotonic() + 5
        while row(url, item_id).sent_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert broken.is_alive() and working.is_alive()
        stop.set()
        broken.join(2)
        working.join(2)
    assert not broken.is_alive() and not working.is_alive()
    assert row(url, item_id).sent_at is not None and len(fake.tickets) == 1
    assert sum("outbox delivery round failed" in r.message for r in caplog.records) >= 2
