"""Tickets in the portal domain, on SQLite and PostgreSQL (``demo_db``)."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from portal import agents, ids, tickets
from portal.db import session_scope
from portal.helpdesk import ZENDESK_TICKET
from portal.hours import BusinessHours
from portal.models import (
    AgentRole,
    MessageKind,
    OutboxItem,
    Ticket,
    TicketCategory,
    TicketMessage,
    TicketStatus,
    User,
)

SLA = timedelta(hours=8)
HANDOFF_SLA = timedelta(minutes=15)
# A Wednesday, 14h in São Paulo (17h UTC): the team is at work.
WORKING = datetime(2026, 12, 2, 17, 0)
# The same Wednesday, 22h in São Paulo: closed until Thursday 8h.
EVENING = datetime(2026, 12, 3, 1, 0)


@pytest.fixture(scope="module")
def hours():
    return BusinessHours(frozenset(range(1, 6)), time(8), time(18), ZoneInfo("America/Sao_Paulo"))


def valid_cnpj() -> str:
    base = f"{uuid.uuid4().int % 10**8:08d}0001"
    return base + ids.cnpj_check_digits(base)


def request(**changes) -> tickets.TicketRequest:
    values = dict(
        request_key=tickets.new_request_key(),
        channel="rest",
        sender_id=f"conv-{uuid.uuid4().hex[:10]}",
        category=TicketCategory.DOCUMENTOS,
        description="A nota fiscal do pedido 4500123 não aparece no portal",
        contact=tickets.Contact("Maria Souza", "Maria@Revenda.com.br", valid_cnpj()),
        transcript=(
            tickets.ChatLine(MessageKind.CLIENTE, "meu cpf é 529.982.247-25", WORKING),
            tickets.ChatLine(MessageKind.CLIENTE, "123 456", WORKING),
            tickets.ChatLine(MessageKind.ASSISTENTE, "Pronto!", WORKING),
        ),
        failed_turns=({"text": "xablau", "intent": "nlu_fallback", "confidence": 0.3, "ranking": []},),
    )
    values.update(changes)
    return tickets.TicketRequest(**values)


def open_(url, hours, req, now=WORKING, helpdesk=False):
    with session_scope(url) as session:
        return tickets.open_ticket(session, req, hours, SLA, HANDOFF_SLA, helpdesk=helpdesk, now=now)


@pytest.fixture(scope="module")
def staff(demo_db):
    url, _ = demo_db
    suffix = uuid.uuid4().hex[:6]
    with session_scope(url) as session:
        made = {
            name: agents.create_agent(session, f"{name}-{suffix}@scansource.com.br", name.title(), role,
                                      "senha-forte-123")
            for name, role in [("ana", AgentRole.AGENTE), ("bruno", AgentRole.AGENTE),
                               ("sofia", AgentRole.SUPERVISOR)]
        }
        return {name: agent.id for name, agent in made.items()}


def agent(session, staff, name):
    from portal.models import Agent

    return session.get(Agent, staff[name])


def test_a_ticket_gets_a_protocol_its_transcript_and_a_deadline(demo_db, hours):
    url, _ = demo_db
    opened = open_(url, hours, request())
    assert opened.created and opened.status is TicketStatus.NOVO and not opened.live
    assert opened.protocol.startswith("MSS-2026-") and len(opened.protocol) == 15
    assert opened.contact_email == "maria@revenda.com.br"
    # 8 working hours: 4 on Wednesday (14h-18h), 4 on Thursday (8h-12h in São Paulo, 15h UTC).
    assert opened.due_at == datetime(2026, 12, 3, 15, 0)
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        bodies = [m.body for m in ticket.messages]
        assert bodies == ["meu cpf é ***.982.247-**", "[código de verificação]", "Pronto!"]
        assert all(m.in_transcript for m in ticket.messages)
        assert ticket.failed_turns[0]["text"] == "xablau"
        assert [e.kind for e in ticket.events] == ["aberto"]


def test_the_same_request_opens_one_ticket(demo_db, hours):
    url, _ = demo_db
    req = request()
    first = open_(url, hours, req)
    again = open_(url, hours, req)
    assert again.protocol == first.protocol and not again.created
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(Ticket)
                              .where(Ticket.request_key == req.request_key)) == 1


def test_an_anonymous_ticket_needs_a_valid_email_and_cnpj(demo_db, hours):
    url, _ = demo_db
    for contact in [tickets.Contact("Maria", "maria@", valid_cnpj()),
                    tickets.Contact("Maria", "maria@revenda.com.br", "11222333000180"),
                    tickets.Contact(" ", "maria@revenda.com.br", valid_cnpj())]:
        req = request(contact=contact)
        with pytest.raises(tickets.TicketError):
            open_(url, hours, req)
        with session_scope(url) as session:  # nothing half written
            assert session.scalar(select(Ticket).where(Ticket.request_key == req.request_key)) is None


def test_a_verified_user_is_the_contact_whatever_was_typed(demo_db, hours):
    url, _ = demo_db
    with session_scope(url) as session:
        user = session.scalars(select(User).order_by(User.id)).first()
        user_id, email, cnpj = user.id, user.email, user.reseller.cnpj
    opened = open_(url, hours, request(user_id=user_id, contact=tickets.Contact("X", "x@y.com", "1")))
    assert opened.contact_email == email
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        assert ticket.user_id == user_id and ticket.contact_cnpj == cnpj


def test_a_person_inside_business_hours_is_a_live_handoff(demo_db, hours):
    url, _ = demo_db
    live = open_(url, hours, request(handoff=True))
    assert live.live and live.status is TicketStatus.AGUARDANDO_ATENDENTE
    assert live.due_at == WORKING + HANDOFF_SLA
    late = open_(url, hours, request(handoff=True), now=EVENING)
    assert not late.live and late.status is TicketStatus.NOVO
    with session_scope(url) as session:
        sender = session.scalar(select(Ticket.sender_id).where(Ticket.protocol == live.protocol))
        assert tickets.live_ticket(session, sender).protocol == live.protocol


def test_the_helpdesk_copy_is_queued_with_the_ticket(demo_db, hours):
    url, _ = demo_db
    opened = open_(url, hours, request(), helpdesk=True)
    with session_scope(url) as session:
        item = session.scalar(select(OutboxItem).where(OutboxItem.key == f"zendesk:{opened.protocol}"))
        assert item.kind == ZENDESK_TICKET and item.sent_at is None


def test_status_only_for_the_owner(demo_db, hours):
    url, _ = demo_db
    with session_scope(url) as session:
        owner, other = session.scalars(select(User.id).order_by(User.id).limit(2)).all()
    mine = open_(url, hours, request(user_id=owner))
    anon = open_(url, hours, request())
    with session_scope(url) as session:
        assert tickets.status_for_user(session, mine.protocol, owner).status is TicketStatus.NOVO
        assert tickets.status_for_user(session, mine.protocol, other) is None
        assert tickets.status_by_email(session, anon.protocol, " MARIA@revenda.com.br ").protocol == anon.protocol
        assert tickets.status_by_email(session, anon.protocol, "outra@revenda.com.br") is None
        assert mine.protocol in [t.protocol for t in tickets.tickets_of_user(session, owner)]


@pytest.mark.parametrize("text, expected", [
    ("status do chamado MSS-2026-000123?", "MSS-2026-000123"),
    ("mss 2026 123", "MSS-2026-000123"),
    ("protocolo mss-2026-45", "MSS-2026-000045"),
    ("chamado 2026-000123", None),
    ("", None),
])
def test_protocols_are_read_from_free_text(text, expected):
    assert tickets.parse_protocol(text) == expected


def test_a_reply_is_stored_then_queued_for_the_customer_once(demo_db, hours, staff):
    url, _ = demo_db
    opened = open_(url, hours, request())
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        message = tickets.reply(session, ticket, agent(session, staff, "ana"), "  Olá! Já verifiquei.  ",
                                now=WORKING)
        assert ticket.status is TicketStatus.EM_ATENDIMENTO and ticket.assigned_agent_id == staff["ana"]
        assert ticket.first_response_at == WORKING
        item = session.scalar(select(OutboxItem).where(OutboxItem.key == f"reply:{message.id}"))
        assert item.kind == tickets.CHAT_MESSAGE and item.conversation == ticket.sender_id
        assert item.payload["text"].endswith("\nOlá! Já verifiquei.")
        with pytest.raises(tickets.TicketError):
            tickets.reply(session, ticket, agent(session, staff, "ana"), "   ")


def test_agents_act_on_their_own_tickets_and_supervisors_on_any(demo_db, hours, staff):
    url, _ = demo_db
    opened = open_(url, hours, request())
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        ana, bruno, sofia = (agent(session, staff, n) for n in ("ana", "bruno", "sofia"))
        with pytest.raises(tickets.NotAllowed):
            tickets.assign(session, ticket, ana, bruno)  # only a supervisor assigns to others
        tickets.assign(session, ticket, ana, ana)
        assert ticket.status is TicketStatus.EM_ATENDIMENTO
        for action in (lambda: tickets.reply(session, ticket, bruno, "oi"),
                       lambda: tickets.change_status(session, ticket, bruno, TicketStatus.RESOLVIDO),
                       lambda: tickets.assign(session, ticket, bruno, bruno)):
            with pytest.raises(tickets.NotAllowed):
                action()
        tickets.add_note(session, ticket, bruno, "Cliente ligou também.")  # notes are for everyone
        tickets.assign(session, ticket, sofia, bruno)
        assert ticket.assigned_agent_id == bruno.id
        tickets.change_status(session, ticket, sofia, TicketStatus.RESOLVIDO)
        assert ticket.resolved_at is not None


def test_resolving_a_live_conversation_hands_it_back_to_the_bot(demo_db, hours, staff):
    url, _ = demo_db
    opened = open_(url, hours, request(handoff=True))
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        tickets.change_status(session, ticket, agent(session, staff, "ana"), TicketStatus.RESOLVIDO)
        assert not ticket.live
        resume = session.scalars(select(OutboxItem).where(OutboxItem.ticket_id == ticket.id,
                                                          OutboxItem.kind == tickets.CHAT_RESUME)).all()
        assert len(resume) == 1 and opened.protocol in resume[0].payload["text"]
        tickets.hand_back(session, ticket, agent(session, staff, "ana"))  # already handed back: nothing
        assert session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.ticket_id == ticket.id, OutboxItem.kind == tickets.CHAT_RESUME)) == 1


def test_customer_messages_from_the_chat_are_copied_once(demo_db, hours, staff):
    url, _ = demo_db
    opened = open_(url, hours, request())
    later = WORKING + timedelta(minutes=3)
    lines = [("1764694980.100000", "ainda estou aguardando", later),
             ("1764694990.200000", "meu cpf 529.982.247-25", later),
             ("1700000000.000000", "antes do chamado", WORKING - timedelta(hours=1))]
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        tickets.change_status(session, ticket, agent(session, staff, "sofia"), TicketStatus.AGUARDANDO_CLIENTE)
        assert tickets.record_customer_messages(session, ticket, lines, now=later) == 2
        assert tickets.record_customer_messages(session, ticket, lines, now=later) == 0
        assert ticket.status is TicketStatus.EM_ATENDIMENTO  # the customer answered
        bodies = session.scalars(select(TicketMessage.body).where(
            TicketMessage.ticket_id == ticket.id, TicketMessage.in_transcript.is_(False))).all()
        assert bodies == ["ainda estou aguardando", "meu cpf ***.982.247-**"]


def test_the_queue_finds_tickets_by_protocol_cnpj_and_cpf(demo_db, hours):
    url, _ = demo_db
    with session_scope(url) as session:
        user = session.scalars(select(User).order_by(User.id.desc())).first()
        user_id, cpf = user.id, user.cpf
    cnpj = valid_cnpj()
    by_cnpj = open_(url, hours, request(contact=tickets.Contact("Joana", "joana@r.com.br", cnpj),
                                        category=TicketCategory.PAGAMENTOS))
    by_user = open_(url, hours, request(user_id=user_id))
    with session_scope(url) as session:
        def found(**filters):
            return [t.protocol for t in tickets.queue(session, tickets.QueueFilter(**filters)).tickets]

        assert found(search=by_cnpj.protocol) == [by_cnpj.protocol]
        assert found(search=by_cnpj.protocol.split("-")[-1].lstrip("0")) == [by_cnpj.protocol]
        assert found(search=ids.format_cnpj(cnpj)) == [by_cnpj.protocol]
        assert by_user.protocol in found(search=ids.format_cpf(cpf))
        assert by_cnpj.protocol in found(category=TicketCategory.PAGAMENTOS, open_only=True)
        assert by_cnpj.protocol not in found(category=TicketCategory.ACESSO)
        assert found(search="nada-a-ver") == []


def test_sla_state_turns_late_after_the_deadline(demo_db, hours):
    url, _ = demo_db
    opened = open_(url, hours, request())
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        assert tickets.sla_state(ticket, WORKING) == "ok"
        assert tickets.sla_state(ticket, ticket.due_at - timedelta(minutes=30)) == "perto"
        assert tickets.sla_state(ticket, ticket.due_at) == "atrasado"


def test_a_handoff_nobody_takes_goes_back_to_the_bot_and_stays_queued(demo_db, hours, staff):
    url, _ = demo_db
    waiting = open_(url, hours, request(handoff=True))
    taken = open_(url, hours, request(handoff=True))
    with session_scope(url) as session:
        tickets.assign(session, tickets.get_ticket(session, taken.protocol), agent(session, staff, "ana"),
                       agent(session, staff, "ana"))
        assert tickets.release_unanswered_handoffs(session, timedelta(minutes=30),
                                                   now=WORKING + timedelta(minutes=29)) == 0
    with session_scope(url) as session:
        assert tickets.release_unanswered_handoffs(session, timedelta(minutes=30),
                                                   now=WORKING + timedelta(minutes=31)) >= 1
        released = tickets.get_ticket(session, waiting.protocol)
        assert not released.live and released.status is TicketStatus.NOVO
        [resume] = session.scalars(select(OutboxItem).where(OutboxItem.ticket_id == released.id,
                                                            OutboxItem.kind != tickets.EMAIL)).all()
        assert resume.kind == tickets.CHAT_RESUME and waiting.protocol in resume.payload["text"]
        assert tickets.get_ticket(session, taken.protocol).live  # an agent has it


def test_a_double_submitted_reply_is_stored_and_sent_once_and_mailed(demo_db, hours, staff):
    url, _ = demo_db
    opened = open_(url, hours, request())
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        ana = agent(session, staff, "ana")
        first = tickets.reply(session, ticket, ana, "Olá! Já verifiquei.", form_key="form-abc")
        again = tickets.reply(session, ticket, ana, "Olá! Já verifiquei.", form_key="form-abc")
        assert again.id == first.id
        kinds = sorted(i.kind for i in session.scalars(select(OutboxItem).where(OutboxItem.ticket_id == ticket.id)))
        assert kinds == [tickets.CHAT_MESSAGE, tickets.EMAIL, tickets.EMAIL]  # opened + reply
        mail = session.scalar(select(OutboxItem).where(OutboxItem.key == f"mail:reply:{first.id}"))
        assert mail.payload["to"] == "maria@revenda.com.br" and "Já verifiquei" in mail.payload["body"]
        opened_mail = session.scalar(select(OutboxItem).where(OutboxItem.key == f"mail:opened:{opened.protocol}"))
        assert opened.protocol in opened_mail.payload["subject"]


def test_letting_go_of_a_live_chat_gives_it_back_to_the_bot(demo_db, hours, staff):
    url, _ = demo_db
    opened = open_(url, hours, request(handoff=True))
    with session_scope(url) as session:
        ticket = tickets.get_ticket(session, opened.protocol)
        ana = agent(session, staff, "ana")
        tickets.assign(session, ticket, ana, ana)
        assert ticket.live and ticket.status is TicketStatus.EM_ATENDIMENTO
        tickets.assign(session, ticket, ana, None)
        assert not ticket.live and ticket.status is TicketStatus.NOVO
        assert session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.ticket_id == ticket.id, OutboxItem.kind == tickets.CHAT_RESUME)) == 1
