"""The ticket actions, run as the action server runs them, on a real portal
database (SQLite) chosen through DATABASE_URL like the action server does."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart
from actions.tickets import (
    ActionStartTicket,
    ActionTicketStatus,
    category_from_text,
    failed_turns,
    masked_email,
    transcript,
)
from portal import ids, tickets
from portal.db import session_scope
from portal.hours import BusinessHours
from portal.migrate import upgrade
from portal.models import MessageKind, TicketCategory
from portal.settings import settings


@pytest.fixture
def portal_db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def at(seconds: float) -> float:
    return datetime(2026, 12, 2, 17, 0, tzinfo=timezone.utc).timestamp() + seconds


def tracker(text: str, intent: str, events=(), slots=None, sender="conv-actions-1") -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "intent_ranking": []}
    history = list(events) + [{"event": "user", "text": text, "parse_data": latest, "timestamp": at(99)}]
    return Tracker(sender, slots or {}, latest, history, False, None, {}, "action_listen")


def run(action, tr, domain=None):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tr, domain or {}))
    return dispatcher.messages, events


def slots_of(events) -> dict:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_asking_for_a_person_after_hours_says_when_the_team_answers(monkeypatch):
    # Friday 19h in São Paulo: closed until Monday 8h.
    monkeypatch.setattr("actions.tickets.utcnow", lambda: datetime(2026, 12, 4, 22, 0))
    for name, value in {"SUPPORT_DAYS": "1-5", "SUPPORT_OPEN": "08:00", "SUPPORT_CLOSE": "18:00",
                        "SUPPORT_HOLIDAYS": ""}.items():
        monkeypatch.setenv(name, value)
    messages, events = run(ActionStartTicket(), tracker("quero falar com uma pessoa", "talk_to_human"))
    assert messages[0]["text"] == (
        "O nosso time atende de segunda a sexta, das 8h às 18h (horário de Brasília). Agora estamos "
        "fora desse horário, mas posso registrar um chamado: a resposta chega a partir de "
        "segunda-feira, 07/12, às 8h.")
    assert slots_of(events)["ticket_handoff"] is True and len(slots_of(events)["ticket_draft"]) == 32


def test_each_ticket_draft_gets_its_own_idempotency_key():
    keys = {slots_of(run(ActionStartTicket(), tracker("abrir chamado", "open_ticket"))[1])["ticket_draft"]
            for _ in range(3)}
    assert len(keys) == 3


def test_a_request_that_describes_the_problem_is_the_description():
    long = "quero abrir um chamado porque o boleto da nota 123 veio com o valor errado"
    assert slots_of(run(ActionStartTicket(), tracker(long, "open_ticket"))[1])["ticket_description"] == long
    assert slots_of(run(ActionStartTicket(), tracker("abrir chamado", "open_ticket"))[1])["ticket_description"] is None


@pytest.mark.parametrize("text, category", [
    ("Acesso/login", TicketCategory.ACESSO), ("2", TicketCategory.DOCUMENTOS),
    ("é sobre o boleto", TicketCategory.DOCUMENTOS), ("meu pedido", TicketCategory.PEDIDOS),
    ("Pagamentos", TicketCategory.PAGAMENTOS), ("Outro assunto", TicketCategory.OUTRO),
    ("pedido e senha", None), ("9", None), ("", None),
])
def test_the_subject_is_read_from_buttons_numbers_and_words(text, category):
    assert category_from_text(text) is category


def test_the_transcript_and_failed_turns_come_from_this_session_only():
    events = [
        {"event": "user", "text": "conversa antiga", "timestamp": at(0), "parse_data": {}},
        {"event": "session_started", "timestamp": at(1)},
        {"event": "user", "text": "xablau", "timestamp": at(2),
         "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.41},
                        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.41},
                                           {"name": "faq_quotes", "confidence": 0.3}]}},
        {"event": "action", "name": "action_not_understood", "timestamp": at(3)},
        {"event": "bot", "text": "Não tenho certeza se entendi.", "timestamp": at(3)},
        # A name typed into the ticket form: no intent of its own, not a failure.
        {"event": "user", "text": "Maria Souza", "timestamp": at(4),
         "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.5}}},
        {"event": "action", "name": "ticket_form", "timestamp": at(5)},
    ]
    tr = tracker("abrir chamado", "open_ticket", events)
    lines = transcript(tr)
    assert [(line.kind, line.text) for line in lines] == [
        (MessageKind.CLIENTE, "xablau"), (MessageKind.ASSISTENTE, "Não tenho certeza se entendi."),
        (MessageKind.CLIENTE, "Maria Souza"), (MessageKind.CLIENTE, "abrir chamado")]
    assert lines[0].at == datetime(2026, 12, 2, 17, 0, 2)
    assert failed_turns(tr) == ({"text": "xablau", "intent": "nlu_fallback", "confidence": 0.41,
                                 "ranking": [{"intent": "faq_quotes", "label": "Pedir cotações",
                                              "confidence": 0.3}]},)


def test_emails_are_masked_in_the_chat():
    assert masked_email("maria@revenda.com.br") == "ma***@revenda.com.br"
    assert masked_email("a@b.com") == "a***@b.com"


def _live_ticket(url: str, sender: str) -> str:
    base = "112223330001"
    request = tickets.TicketRequest(
        request_key=uuid.uuid4().hex, channel="rest", sender_id=sender, category=TicketCategory.OUTRO,
        description="quero falar com alguém", handoff=True,
        contact=tickets.Contact("Maria", "maria@revenda.com.br", base + ids.cnpj_check_digits(base)))
    always = BusinessHours(frozenset(range(1, 8)), datetime.min.time(), datetime.max.time(),
                           BusinessHours.from_settings(settings()).zone)
    with session_scope(url) as session:
        return tickets.open_ticket(session, request, always, timedelta(hours=8), timedelta(minutes=15)).protocol


def test_a_new_session_stays_paused_while_an_agent_owns_the_conversation(portal_db):
    _live_ticket(portal_db, "conv-live-1")
    _, events = run(ActionSessionStart(), tracker("oi", "greet", sender="conv-live-1"), {"slots": {}})
    assert [e["event"] for e in events] == ["session_started", "pause", "action"]
    _, events = run(ActionSessionStart(), tracker("oi", "greet", sender="conv-other-1"), {"slots": {}})
    assert [e["event"] for e in events] == ["session_started", "action"]


def test_a_session_starts_even_if_the_portal_database_is_down(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'no-tables.db'}")
    _, events = run(ActionSessionStart(), tracker("oi", "greet"), {"slots": {}})
    assert [e["event"] for e in events] == ["session_started", "action"]


def test_status_of_someone_elses_ticket_is_not_found(portal_db):
    protocol = _live_ticket(portal_db, "conv-owner-1")
    tr = tracker("status", "ticket_status", slots={"ticket_lookup_protocol": protocol,
                                                   "ticket_lookup_email": "outra@revenda.com.br"})
    messages, events = run(ActionTicketStatus(), tr)
    assert messages[0]["text"].startswith("Não encontrei um chamado com esses dados.")
    assert slots_of(events)["ticket_lookup_failures"] == 1.0


def test_a_conversation_the_channel_verified_starts_identified(portal_db):
    from portal import chat_identity
    from portal.models import Reseller, Role, User

    base = "998877660001"
    with session_scope(portal_db) as session:
        reseller = Reseller(cnpj=base + ids.cnpj_check_digits(base), razao_social="Teste Ltda", region="Sul",
                            created_at=datetime(2026, 1, 1))
        session.add(reseller)
        session.flush()
        user = User(reseller_id=reseller.id, cpf="52998224725", name="Ana Teste", email="ana@teste.com.br",
                    role=Role.GERENCIADOR, active=True)
        session.add(user)
        session.flush()
        user_id = user.id
        chat_identity.link_number(session, "wa", "5511987654321", user_id, days=90)
    for sender in (f"web:{user_id}", "wa:551187654321"):
        _, events = run(ActionSessionStart(), tracker("oi", "greet", sender=sender), {"slots": {}})
        assert slots_of(events) == {"authenticated": True, "auth_user_id": float(user_id)}, sender
    for sender in ("web-anon:abc", "5511987654321", "wa:5511900000000"):
        _, events = run(ActionSessionStart(), tracker("oi", "greet", sender=sender), {"slots": {}})
        assert "authenticated" not in slots_of(events), sender
