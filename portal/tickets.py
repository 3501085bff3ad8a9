"""Support tickets (chamados): opened from the chat, worked in the console.

- Opening is idempotent: the chat sends a ``request_key`` per ticket draft, and
  the same key always yields the same ticket (a repeated confirm, a retried
  request, a double click).
- The ticket is stored (and committed by the caller) before the customer is
  told its protocol; the confirmation e-mail goes after the commit.
- A verified identity (``user_id``) comes only from the chat's verified
  identification; otherwise the contact is what the customer typed, marked
  as not verified.
- Agent replies and the end of a handoff become outbox items: the console's
  worker delivers them to the customer's conversation and retries if the chat
  server is down, so a reply is never lost or sent twice.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from portal import ids, outbox
from portal.helpdesk import ZENDESK_TICKET
from portal.hours import BusinessHours
from portal.mail import Mailer
from portal.models import (
    Agent,
    AgentRole,
    MessageKind,
    OutboxItem,
    Reseller,
    Ticket,
    TicketCategory,
    TicketEvent,
    TicketMessage,
    TicketStatus,
    User,
    utcnow,
)

logger = logging.getLogger(__name__)

# Outbox kinds for the customer's conversation and mailbox (delivered by the
# console's worker).
CHAT_MESSAGE = "chat_message"
CHAT_RESUME = "chat_resume"
EMAIL = "email"  # payload {"to", "subject", "body"}

# How each input channel is named for agents.
CHANNEL_LABELS = {"rest": "API (REST)", "socketio": "Chat do site", "whatsapp": "WhatsApp",
                  "twilio_whatsapp": "WhatsApp (Twilio)", "desconhecido": "Desconhecido"}

MAX_DESCRIPTION = 2000
MAX_REPLY = 4000
MAX_TRANSCRIPT_LINES = 80
OPEN_STATUSES = [s for s in TicketStatus if s is not TicketStatus.RESOLVIDO]

_PROTOCOL = re.compile(r"\bmss[\s\-_.]*(\d{4})[\s\-_.]*(\d{1,6})\b", re.IGNORECASE)
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


class TicketError(ValueError):
    """A request the portal refuses (bad contact data, unknown user)."""


def parse_protocol(text: str | None) -> str | None:
    """"mss 2026 123" or "MSS-2026-000123" -> "MSS-2026-000123"."""
    match = _PROTOCOL.search(text or "")
    if not match:
        return None
    return f"MSS-{match.group(1)}-{int(match.group(2)):06d}"


def is_valid_email(text: str | None) -> bool:
    text = (text or "").strip()
    return len(text) <= 254 and bool(_EMAIL.match(text))


def new_request_key() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Contact:
    name: str
    email: str
    cnpj: str


@dataclass(frozen=True)
class ChatLine:
    """One message of the conversation before the ticket."""

    kind: MessageKind  # CLIENTE or ASSISTENTE
    text: str
    at: datetime


@dataclass(frozen=True)
class TicketRequest:
    request_key: str
    channel: str
    sender_id: str
    category: TicketCategory
    description: str
    user_id: int | None = None
    contact: Contact | None = None  # required when user_id is None
    transcript: tuple[ChatLine, ...] = ()
    failed_turns: tuple[dict, ...] = ()
    handoff: bool = False  # the customer asked for a person


@dataclass(frozen=True)
class OpenedTicket:
    protocol: str
    created: bool  # False: this request had already opened it
    status: TicketStatus
    live: bool  # a person takes over the conversation now
    due_at: datetime
    contact_name: str
    contact_email: str
    category: TicketCategory
    description: str


@dataclass(frozen=True)
class TicketSummary:
    """What a customer may know about their ticket."""

    protocol: str
    status: TicketStatus
    category: TicketCategory
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    replies: int


def _opened(ticket: Ticket, created: bool) -> OpenedTicket:
    return OpenedTicket(ticket.protocol, created, ticket.status, ticket.live, ticket.due_at,
                        ticket.contact_name, ticket.contact_email, ticket.category, ticket.description)


def _contact_for(session: Session, request: TicketRequest) -> Contact:
    if request.user_id is not None:
        user = session.scalar(select(User).where(User.id == request.user_id, User.active.is_(True)))
        if user is None:
            raise TicketError("the identified user no longer exists or is inactive")
        cnpj = session.scalar(select(Reseller.cnpj).where(Reseller.id == user.reseller_id))
        return Contact(user.name, user.email, cnpj)
    contact = request.contact
    if contact is None or not contact.name.strip():
        raise TicketError("an anonymous ticket needs the contact's name")
    if not is_valid_email(contact.email):
        raise TicketError("invalid e-mail")
    if not ids.is_valid_cnpj(contact.cnpj):
        raise TicketError("invalid CNPJ")
    return Contact(contact.name.strip()[:200], contact.email.strip().lower(), ids.digits(contact.cnpj))


def open_ticket(session: Session, request: TicketRequest, hours: BusinessHours, sla: timedelta,
                handoff_sla: timedelta, helpdesk: bool = False, now: datetime | None = None) -> OpenedTicket:
    """Stores the ticket with its transcript (or finds the one this request opened)."""
    existing = session.scalar(select(Ticket).where(Ticket.request_key == request.request_key))
    if existing is not None:
        return _opened(existing, created=False)
    description = request.description.strip()[:MAX_DESCRIPTION]
    if not description:
        raise TicketError("empty description")
    contact = _contact_for(session, request)
    now = now or utcnow()
    live = request.handoff and hours.is_open(now)
    ticket = Ticket(
        request_key=request.request_key,
        status=TicketStatus.AGUARDANDO_ATENDENTE if live else TicketStatus.NOVO,
        category=request.category,
        description=description,
        channel=request.channel[:30],
        sender_id=request.sender_id[:128],
        user_id=request.user_id,
        contact_name=contact.name,
        contact_email=contact.email,
        contact_cnpj=contact.cnpj,
        handoff_requested=request.handoff,
        live=live,
        failed_turns=list(request.failed_turns),
        created_at=now,
        updated_at=now,
        due_at=now + handoff_sla if live else hours.add(now, sla),
    )
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:  # the same request, opened concurrently
        return _opened(session.scalar(select(Ticket).where(Ticket.request_key == request.request_key)),
                       created=False)
    ticket.protocol = f"MSS-{hours.local(now).year}-{ticket.id:06d}"
    for line in request.transcript[-MAX_TRANSCRIPT_LINES:]:
        session.add(TicketMessage(ticket_id=ticket.id, kind=line.kind, body=mask_sensitive(line.text),
                                  in_transcript=True, created_at=line.at))
    detail = f"Aberto no canal {CHANNEL_LABELS.get(ticket.channel, ticket.channel)}."
    if request.handoff:
        detail += (" O cliente pediu para falar com uma pessoa; conversa pausada aguardando atendente."
                   if live else " O cliente pediu para falar com uma pessoa fora do horário de atendimento.")
    _event(session, ticket, None, "aberto", detail, now)
    if helpdesk:
        outbox.enqueue(session, ZENDESK_TICKET, f"zendesk:{ticket.protocol}", {"ticket_id": ticket.id},
                       ticket_id=ticket.id, now=now)
    opened = _opened(ticket, created=True)
    subject, body = opened_email(opened, hours, now)
    _mail(session, ticket, f"mail:opened:{ticket.protocol}", subject, body, now)
    session.flush()
    return opened


def _mail(session: Session, ticket: Ticket, key: str, subject: str, body: str, now: datetime) -> None:
    """An e-mail to the ticket's contact, sent by the worker after the commit
    (a mail outage delays it, never loses it or undoes the ticket)."""
    outbox.enqueue(session, EMAIL, key, {"to": ticket.contact_email, "subject": subject, "body": body},
                   ticket_id=ticket.id, now=now)


_CPF_LIKE = re.compile(r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}")
_CODE_ONLY = re.compile(r"^\s*\d{3}\s?\d{3}\s*$")


def mask_sensitive(text: str) -> str:
    """Transcript text for agents: CPFs masked, a typed one-time code hidden."""
    if _CODE_ONLY.match(text):
        return "[código de verificação]"
    return _CPF_LIKE.sub(lambda m: ids.mask_cpf(m.group()) if ids.is_valid_cpf(m.group()) else m.group(),
                         text)


def opened_email(opened: OpenedTicket, hours: BusinessHours, now: datetime) -> tuple[str, str]:
    """Subject and body of the confirmation e-mail."""
    first = opened.contact_name.split()[0] if opened.contact_name.split() else ""
    when = ("Um atendente vai continuar a conversa no chat em instantes."
            if opened.live else
            f"Você vai receber uma resposta até {hours.when(opened.due_at, now)}.")
    body = (
        f"Olá, {first}!\n\n"
        f"Recebemos o seu chamado {opened.protocol}.\n\n"
        f"Assunto: {opened.category.label}\n"
        f"Descrição: {opened.description}\n\n"
        f"{when}\n"
        f"Para saber o andamento, pergunte no chat: \"status do chamado {opened.protocol}\".\n\n"
        "Equipe de pós-venda My ScanSource"
    )
    return f"Chamado {opened.protocol} recebido - My ScanSource", body


def mail_handler(mailer: Mailer):
    """The outbox handler for ``EMAIL`` items."""
    def deliver(delivery) -> str:
        payload = delivery.payload
        mailer.send(payload["to"], payload["subject"], payload["body"])
        return "sent"

    return deliver


# --- What the customer may see ------------------------------------------------

def _summary(session: Session, ticket: Ticket) -> TicketSummary:
    replies = session.scalar(select(func.count()).select_from(TicketMessage).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.kind == MessageKind.AGENTE))
    return TicketSummary(ticket.protocol, ticket.status, ticket.category, ticket.created_at,
                         ticket.updated_at, ticket.due_at, ticket.resolved_at, replies)


def status_for_user(session: Session, protocol: str, user_id: int) -> TicketSummary | None:
    """The ticket, if this user opened it; None otherwise (same as not found)."""
    ticket = session.scalar(select(Ticket).where(Ticket.protocol == protocol, Ticket.user_id == user_id))
    return _summary(session, ticket) if ticket else None


def status_by_email(session: Session, protocol: str, email: str) -> TicketSummary | None:
    """The ticket, if it was opened with this e-mail; None otherwise."""
    ticket = session.scalar(select(Ticket).where(
        Ticket.protocol == protocol, Ticket.contact_email == (email or "").strip().lower()))
    return _summary(session, ticket) if ticket else None


def tickets_of_user(session: Session, user_id: int, limit: int = 5) -> list[TicketSummary]:
    tickets = session.scalars(select(Ticket).where(Ticket.user_id == user_id)
                              .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)).all()
    return [_summary(session, t) for t in tickets]


def has_ticket(session: Session, sender_id: str) -> bool:
    """Whether this conversation ever opened a ticket (only those can hold agents' messages)."""
    return session.scalar(select(Ticket.id).where(Ticket.sender_id == sender_id).limit(1)) is not None


def live_ticket(session: Session, sender_id: str) -> Ticket | None:
    """The ticket whose agent owns this conversation right now, if any."""
    return session.scalar(select(Ticket).where(Ticket.sender_id == sender_id, Ticket.live.is_(True))
                          .order_by(Ticket.id.desc()).limit(1))


# --- The console --------------------------------------------------------------

@dataclass
class QueueFilter:
    status: TicketStatus | None = None
    category: TicketCategory | None = None
    channel: str | None = None
    search: str = ""
    open_only: bool = False


@dataclass
class QueuePage:
    tickets: list[Ticket]
    total: int
    channels: list[str] = field(default_factory=list)


def queue(session: Session, filters: QueueFilter, limit: int = 50, offset: int = 0) -> QueuePage:
    """Tickets for the queue, oldest deadline first among open ones."""
    query = select(Ticket)
    if filters.status is not None:
        query = query.where(Ticket.status == filters.status)
    elif filters.open_only:
        query = query.where(Ticket.status.in_(OPEN_STATUSES))
    if filters.category is not None:
        query = query.where(Ticket.category == filters.category)
    if filters.channel:
        query = query.where(Ticket.channel == filters.channel)
    term = filters.search.strip()
    if term:
        protocol = parse_protocol(term)
        number = ids.digits(term)
        conditions = []
        if protocol:
            conditions.append(Ticket.protocol == protocol)
        if len(number) == 14:
            conditions.append(Ticket.contact_cnpj == number)
        if len(number) == 11:
            conditions.append(Ticket.user_id.in_(select(User.id).where(User.cpf == number)))
        if not conditions:  # a partial protocol, e.g. "000123" or "123"
            conditions.append(Ticket.protocol.like(f"%{number.zfill(6)}" if number else "%-x-%"))
        query = query.where(or_(*conditions))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    tickets = session.scalars(
        query.options(selectinload(Ticket.assigned_agent))
        .order_by((Ticket.status == TicketStatus.RESOLVIDO), Ticket.due_at, Ticket.id)
        .limit(limit).offset(offset)
    ).all()
    channels = session.scalars(select(Ticket.channel).distinct().order_by(Ticket.channel)).all()
    return QueuePage(list(tickets), total, list(channels))


def ticket_by_id(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id)


def get_ticket(session: Session, protocol: str) -> Ticket | None:
    return session.scalar(
        select(Ticket).where(Ticket.protocol == protocol).options(
            selectinload(Ticket.messages).selectinload(TicketMessage.agent),
            selectinload(Ticket.events).selectinload(TicketEvent.agent),
            selectinload(Ticket.user).selectinload(User.reseller),
            selectinload(Ticket.assigned_agent),
        )
    )


@dataclass(frozen=True)
class TicketHead:
    id: int
    sender_id: str
    created_at: datetime
    resolved_at: datetime | None


def ticket_head(session: Session, protocol: str) -> TicketHead | None:
    """The little the console needs to read the conversation before loading the ticket."""
    row = session.execute(select(Ticket.id, Ticket.sender_id, Ticket.created_at, Ticket.resolved_at)
                          .where(Ticket.protocol == protocol)).first()
    return TicketHead(*row) if row else None


def protocols(session: Session, ticket_ids) -> dict[int, str]:
    ids_ = list(ticket_ids)
    if not ids_:
        return {}
    return dict(session.execute(select(Ticket.id, Ticket.protocol).where(Ticket.id.in_(ids_))).all())


def delivery_states(session: Session, ticket: Ticket) -> dict[int, str]:
    """entregue / pendente / falhou for each agent reply, from its outbox item."""
    keys = {f"reply:{m.id}": m.id for m in ticket.messages if m.kind is MessageKind.AGENTE}
    if not keys:
        return {}
    items = session.scalars(select(OutboxItem).where(OutboxItem.key.in_(list(keys))))
    return {keys[item.key]: "entregue" if item.sent_at else "falhou" if item.failed_at else "pendente"
            for item in items}


def can_act(agent: Agent, ticket: Ticket) -> bool:
    """A supervisor acts on any ticket; an agent on unassigned ones and their own."""
    return agent.role is AgentRole.SUPERVISOR or ticket.assigned_agent_id in (None, agent.id)


class NotAllowed(PermissionError):
    """The agent may not do this to this ticket."""


def _check(agent: Agent, ticket: Ticket) -> None:
    if not can_act(agent, ticket):
        raise NotAllowed(f"ticket {ticket.protocol} is assigned to someone else")


def _event(session: Session, ticket: Ticket, agent: Agent | None, kind: str, detail: str,
           now: datetime) -> None:
    session.add(TicketEvent(ticket_id=ticket.id, agent_id=agent.id if agent else None, kind=kind,
                            detail=detail, at=now))
    ticket.updated_at = now


def assign(session: Session, ticket: Ticket, agent: Agent, to: Agent | None,
           now: datetime | None = None) -> None:
    """Assigns to ``to`` (None: unassign). Agents may only take tickets for themselves."""
    now = now or utcnow()
    _check(agent, ticket)
    if agent.role is not AgentRole.SUPERVISOR and to is not None and to.id != agent.id:
        raise NotAllowed("only a supervisor assigns tickets to someone else")
    if to is not None and not to.active:
        raise NotAllowed("inactive agent")
    ticket.assigned_agent_id = to.id if to else None
    if to is not None and ticket.status in (TicketStatus.NOVO, TicketStatus.AGUARDANDO_ATENDENTE):
        _set_status(session, ticket, agent, TicketStatus.EM_ATENDIMENTO, now)
    _event(session, ticket, agent, "atribuido",
           f"Atribuído a {to.name}." if to else "Atribuição removida.", now)
    if to is None and ticket.live:  # nobody owns the live chat now: the bot answers again
        _set_status(session, ticket, agent, TicketStatus.NOVO, now)
        _resume(session, ticket, agent, NOBODY_TEXT.format(protocol=ticket.protocol), now)


def _set_status(session: Session, ticket: Ticket, agent: Agent | None, status: TicketStatus,
                now: datetime) -> None:
    if ticket.status is status:
        return
    before = ticket.status
    ticket.status = status
    ticket.resolved_at = now if status is TicketStatus.RESOLVIDO else None
    _event(session, ticket, agent, "status", f"Status: {before.value} → {status.value}.", now)


NOBODY_TEXT = ("Ninguém do nosso time conseguiu assumir a conversa agora, desculpe. 😕 O seu chamado "
               "{protocol} continua na fila e a resposta chega aqui e no seu e-mail. Enquanto isso, eu, o "
               "assistente virtual, voltei: posso ajudar com outra coisa?")
RESUME_TEXT = ("O atendimento com o nosso time terminou e eu, o assistente virtual, voltei. 🤖\n"
               "Posso ajudar em mais alguma coisa?")
RESOLVED_TEXT = ("O seu chamado {protocol} foi resolvido. ✅ Eu, o assistente virtual, voltei a "
                 "atender esta conversa. Posso ajudar em mais alguma coisa?")


def change_status(session: Session, ticket: Ticket, agent: Agent, status: TicketStatus,
                  now: datetime | None = None) -> None:
    """Any status change; resolving a live conversation hands it back to the bot."""
    now = now or utcnow()
    _check(agent, ticket)
    _set_status(session, ticket, agent, status, now)
    if status is TicketStatus.RESOLVIDO and ticket.live:
        _resume(session, ticket, agent, RESOLVED_TEXT.format(protocol=ticket.protocol), now)


def hand_back(session: Session, ticket: Ticket, agent: Agent, now: datetime | None = None) -> None:
    """Ends the live handoff: the bot answers this conversation again."""
    now = now or utcnow()
    _check(agent, ticket)
    if not ticket.live:
        return
    _resume(session, ticket, agent, RESUME_TEXT, now)


def _resume(session: Session, ticket: Ticket, agent: Agent | None, text: str, now: datetime) -> None:
    ticket.live = False
    _event(session, ticket, agent, "devolvido", "Conversa devolvida ao assistente virtual.", now)
    session.flush()
    outbox.enqueue(session, CHAT_RESUME, f"resume:{ticket.id}:{now:%Y%m%dT%H%M%S}",
                   {"sender_id": ticket.sender_id, "channel": ticket.channel, "text": text},
                   ticket_id=ticket.id, conversation=ticket.sender_id, now=now)


def release_unanswered_handoffs(session: Session, max_wait: timedelta, now: datetime | None = None) -> int:
    """Gives the bot back the conversations no agent took within ``max_wait``:
    the customer is not left talking to silence; the ticket stays in the queue."""
    now = now or utcnow()
    waiting = session.scalars(select(Ticket).where(
        Ticket.live.is_(True), Ticket.assigned_agent_id.is_(None),
        Ticket.status == TicketStatus.AGUARDANDO_ATENDENTE, Ticket.created_at <= now - max_wait)).all()
    for ticket in waiting:
        ticket.status = TicketStatus.NOVO
        _event(session, ticket, None, "status", "Ninguém assumiu a conversa a tempo: status "
                                                "aguardando atendente → novo.", now)
        _resume(session, ticket, None, NOBODY_TEXT.format(protocol=ticket.protocol), now)
    return len(waiting)


def reply(session: Session, ticket: Ticket, agent: Agent, text: str,
          now: datetime | None = None, form_key: str | None = None) -> TicketMessage:
    """The agent's answer: stored, then delivered on the customer's channel and
    by e-mail through the outbox. ``form_key`` identifies the submitted form:
    submitting it twice (a double click) stores and sends one reply."""
    now = now or utcnow()
    _check(agent, ticket)
    body = (text or "").strip()
    if not body:
        raise TicketError("empty reply")
    body = body[:MAX_REPLY]
    ref = f"form:{form_key[:58]}" if form_key else None
    if ref:
        sent = session.scalar(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id,
                                                          TicketMessage.external_ref == ref))
        if sent is not None:
            return sent
    message = TicketMessage(ticket_id=ticket.id, kind=MessageKind.AGENTE, body=body, agent_id=agent.id,
                            external_ref=ref, created_at=now)
    session.add(message)
    if ticket.assigned_agent_id is None:
        ticket.assigned_agent_id = agent.id
        _event(session, ticket, agent, "atribuido", f"Atribuído a {agent.name} ao responder.", now)
    if ticket.first_response_at is None:
        ticket.first_response_at = now
    if ticket.status in (TicketStatus.NOVO, TicketStatus.AGUARDANDO_ATENDENTE, TicketStatus.RESOLVIDO):
        _set_status(session, ticket, agent, TicketStatus.EM_ATENDIMENTO, now)
    _event(session, ticket, agent, "resposta", "Resposta enviada ao cliente.", now)
    session.flush()
    outbox.enqueue(session, CHAT_MESSAGE, f"reply:{message.id}",
                   {"sender_id": ticket.sender_id, "channel": ticket.channel,
                    "text": agent_message_text(agent, body), "ticket": ticket.protocol},
                   ticket_id=ticket.id, conversation=ticket.sender_id, now=now)
    first = ticket.contact_name.split()[0] if ticket.contact_name.split() else ""
    _mail(session, ticket, f"mail:reply:{message.id}", f"Resposta ao seu chamado {ticket.protocol}",
          f"Olá, {first}!\n\n{agent.name.split()[0]}, do time de pós-venda, respondeu ao seu chamado "
          f"{ticket.protocol}:\n\n{body}\n\nPara responder, escreva no chat da My ScanSource.\n\n"
          "Equipe de pós-venda My ScanSource", now)
    return message


def agent_message_text(agent: Agent, body: str) -> str:
    """How an agent's reply reads in the chat: who wrote it, then the text."""
    return f"👤 {agent.name.split()[0]} (pós-venda ScanSource):\n{body}"


def add_note(session: Session, ticket: Ticket, agent: Agent, text: str,
             now: datetime | None = None) -> TicketMessage:
    """An internal note: any agent may add one, the customer never sees it."""
    now = now or utcnow()
    body = (text or "").strip()[:MAX_REPLY]
    if not body:
        raise TicketError("empty note")
    note = TicketMessage(ticket_id=ticket.id, kind=MessageKind.NOTA, body=body, agent_id=agent.id,
                         created_at=now)
    session.add(note)
    _event(session, ticket, agent, "nota", "Nota interna adicionada.", now)
    session.flush()
    return note


def record_customer_messages(session: Session, ticket: Ticket, lines: list[tuple[str, str, datetime]],
                             now: datetime | None = None) -> int:
    """Copies what the customer wrote after the ticket was opened (from the chat).

    ``lines`` are (reference, text, at); a reference already copied is skipped,
    so calling this on every page view adds each message once. A customer
    answer moves a ticket that was waiting for them back to "em atendimento".
    """
    now = now or utcnow()
    known = set(session.scalars(select(TicketMessage.external_ref).where(
        TicketMessage.ticket_id == ticket.id, TicketMessage.external_ref.is_not(None))))
    added = 0
    for ref, text, at in lines:
        if ref in known or at < ticket.created_at:
            continue
        session.add(TicketMessage(ticket_id=ticket.id, kind=MessageKind.CLIENTE, body=mask_sensitive(text),
                                  external_ref=ref, created_at=at))
        known.add(ref)
        added += 1
    if added:
        ticket.updated_at = now
        if ticket.status is TicketStatus.AGUARDANDO_CLIENTE:
            _set_status(session, ticket, None, TicketStatus.EM_ATENDIMENTO, now)
        session.flush()
    return added


def sla_state(ticket: Ticket, now: datetime) -> str:
    """"ok", "perto" (last quarter of the time) or "atrasado", for the queue."""
    if ticket.status is TicketStatus.RESOLVIDO or ticket.first_response_at is not None:
        return "ok"
    if now >= ticket.due_at:
        return "atrasado"
    total = (ticket.due_at - ticket.created_at).total_seconds() or 1
    return "perto" if (ticket.due_at - now).total_seconds() / total <= 0.25 else "ok"


def counts_by(session: Session, column) -> dict:
    rows = session.execute(select(column, func.count()).group_by(column)).all()
    return {key: count for key, count in rows}
