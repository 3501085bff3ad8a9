"""The portal's data: resellers, users, orders, notas fiscais, boletos, payments,
one-time codes, chat identities, support tickets, agents and the outbox.

SQLAlchemy 1.4 declarative models used with 2.0-style queries
(``select(...)``, ``session.scalars``). Money is ``Numeric(12, 2)`` read as
``Decimal``. The schema is created and changed only by Alembic migrations
(``portal/migrations``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    JSON,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

Base = declarative_base()

CENT = Decimal("0.01")


class Money(TypeDecorator):
    """Reais as exact ``Decimal`` in Python, whole centavos in the database.

    SQLite has no exact decimal type (SQLAlchemy goes through float there), so
    every database stores integer centavos and SQL sums stay exact.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        cents = Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN) * 100
        return int(cents)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(value) / 100).quantize(CENT)


MONEY = Money()


class Role(str, enum.Enum):
    ADMINISTRADOR = "Administrador"
    GERENCIADOR = "Gerenciador"
    VISUALIZADOR = "Visualizador"

    @property
    def can_download(self) -> bool:
        return self is not Role.VISUALIZADOR


class OrderStatus(str, enum.Enum):
    RECEBIDO = "recebido"
    EM_ANALISE = "em análise"
    APROVADO = "aprovado"
    FATURADO = "faturado"
    EM_SEPARACAO = "em separação"
    EM_TRANSPORTE = "em transporte"
    ENTREGUE = "entregue"
    CANCELADO = "cancelado"


# The normal path of an order; CANCELADO can follow any step before shipping.
ORDER_FLOW = [
    OrderStatus.RECEBIDO,
    OrderStatus.EM_ANALISE,
    OrderStatus.APROVADO,
    OrderStatus.FATURADO,
    OrderStatus.EM_SEPARACAO,
    OrderStatus.EM_TRANSPORTE,
    OrderStatus.ENTREGUE,
]


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    # Store the readable values ("em análise"), not the Python names.
    return Enum(kind, name=name, values_callable=lambda k: [m.value for m in k],
                native_enum=False, length=20, validate_strings=True)


class Reseller(Base):
    __tablename__ = "resellers"

    id = Column(Integer, primary_key=True)
    cnpj = Column(String(14), nullable=False, unique=True)
    razao_social = Column(String(200), nullable=False)
    region = Column(String(20), nullable=False)
    created_at = Column(DateTime, nullable=False)

    users = relationship("User", back_populates="reseller")


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    reseller_id = Column(ForeignKey("resellers.id"), nullable=False, index=True)
    cpf = Column(String(11), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    email = Column(String(254), nullable=False)
    whatsapp = Column(String(20), nullable=True, index=True)
    role = Column(_enum(Role, "user_role"), nullable=False)
    active = Column(Boolean, nullable=False, default=True)

    reseller = relationship("Reseller", back_populates="users")


class Order(Base):
    __tablename__ = "orders"

    id = Column(Integer, primary_key=True)
    number = Column(String(10), nullable=False, unique=True)
    reseller_id = Column(ForeignKey("resellers.id"), nullable=False)
    placed_on = Column(Date, nullable=False)
    items_summary = Column(Text, nullable=False)
    total = Column(MONEY, nullable=False)
    status = Column(_enum(OrderStatus, "order_status"), nullable=False)
    status_changed_at = Column(DateTime, nullable=False)
    carrier = Column(String(80), nullable=True)
    tracking_code = Column(String(40), nullable=True)

    events = relationship(
        "OrderEvent", back_populates="order", order_by="(OrderEvent.at, OrderEvent.id)"
    )
    invoices = relationship("Invoice", back_populates="order")

    __table_args__ = (Index("ix_orders_reseller_recent", "reseller_id", "placed_on"),)


class OrderEvent(Base):
    """One dated step of an order's status history."""

    __tablename__ = "order_events"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id"), nullable=False, index=True)
    status = Column(_enum(OrderStatus, "order_event_status"), nullable=False)
    at = Column(DateTime, nullable=False)

    order = relationship("Order", back_populates="events")


class Invoice(Base):
    """A nota fiscal eletrônica (NF-e) issued for an order."""

    __tablename__ = "invoices"

    id = Column(Integer, primary_key=True)
    order_id = Column(ForeignKey("orders.id"), nullable=False, index=True)
    reseller_id = Column(ForeignKey("resellers.id"), nullable=False, index=True)
    number = Column(String(9), nullable=False)
    series = Column(String(3), nullable=False)
    access_key = Column(String(44), nullable=False, unique=True)
    issued_on = Column(Date, nullable=False)
    total = Column(MONEY, nullable=False)

    order = relationship("Order", back_populates="invoices")
    boletos = relationship("Boleto", back_populates="invoice")

    __table_args__ = (UniqueConstraint("series", "number", name="uq_invoice_series_number"),)


class Boleto(Base):
    __tablename__ = "boletos"

    id = Column(Integer, primary_key=True)
    invoice_id = Column(ForeignKey("invoices.id"), nullable=False, index=True)
    reseller_id = Column(ForeignKey("resellers.id"), nullable=False)
    linha_digitavel = Column(String(47), nullable=False, unique=True)
    due_date = Column(Date, nullable=False)
    amount = Column(MONEY, nullable=False)
    paid_on = Column(Date, nullable=True)

    invoice = relationship("Invoice", back_populates="boletos")
    payments = relationship("Payment", back_populates="boleto")

    __table_args__ = (
        Index("ix_boletos_reseller_due", "reseller_id", "due_date"),
        # Payment summaries: open/overdue titles and recent payments of a reseller.
        Index("ix_boletos_unpaid", "reseller_id", "due_date",
              postgresql_where=text("paid_on IS NULL"), sqlite_where=text("paid_on IS NULL")),
        Index("ix_boletos_reseller_paid", "reseller_id", "paid_on"),
    )

    def status(self, today: date) -> str:
        """aberto, vencido or pago: derived, never stored."""
        if self.paid_on is not None:
            return "pago"
        return "vencido" if self.due_date < today else "aberto"


class Payment(Base):
    __tablename__ = "payments"

    id = Column(Integer, primary_key=True)
    boleto_id = Column(ForeignKey("boletos.id"), nullable=False, index=True)
    paid_on = Column(Date, nullable=False)
    amount = Column(MONEY, nullable=False)

    boleto = relationship("Boleto", back_populates="payments")


class OneTimeCode(Base):
    """A 6-digit code e-mailed to a user; only its hash is stored."""

    __tablename__ = "one_time_codes"

    id = Column(Integer, primary_key=True)
    cpf = Column(String(11), nullable=False)
    code_hash = Column(String(128), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)
    failed_attempts = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime, nullable=True)
    used_at = Column(DateTime, nullable=True)

    __table_args__ = (Index("ix_codes_cpf_created", "cpf", "created_at"),)


class ChatIdentity(Base):
    """A verified link between a chat conversation or number and a user."""

    __tablename__ = "chat_identities"

    id = Column(Integer, primary_key=True)
    channel = Column(String(30), nullable=False)
    external_id = Column(String(120), nullable=False)
    user_id = Column(ForeignKey("users.id"), nullable=False, index=True)
    verified_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)

    user = relationship("User")

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_chat_identity"),)


class TicketStatus(str, enum.Enum):
    NOVO = "novo"
    AGUARDANDO_ATENDENTE = "aguardando atendente"
    EM_ATENDIMENTO = "em atendimento"
    AGUARDANDO_CLIENTE = "aguardando cliente"
    RESOLVIDO = "resolvido"


class TicketCategory(str, enum.Enum):
    ACESSO = "acesso"
    DOCUMENTOS = "documentos"
    PEDIDOS = "pedidos"
    PAGAMENTOS = "pagamentos"
    OUTRO = "outro"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    TicketCategory.ACESSO: "Acesso/login",
    TicketCategory.DOCUMENTOS: "Documentos",
    TicketCategory.PEDIDOS: "Pedidos",
    TicketCategory.PAGAMENTOS: "Pagamentos",
    TicketCategory.OUTRO: "Outro assunto",
}


class MessageKind(str, enum.Enum):
    CLIENTE = "cliente"  # the customer, in the chat
    ASSISTENTE = "assistente"  # the bot's replies before the ticket
    AGENTE = "agente"  # an agent's reply, delivered to the customer
    NOTA = "nota"  # an internal note, never shown to the customer


class AgentRole(str, enum.Enum):
    AGENTE = "agente"
    SUPERVISOR = "supervisor"


class Agent(Base):
    """A member of the post-sales team who logs into the console."""

    __tablename__ = "agents"

    id = Column(Integer, primary_key=True)
    email = Column(String(254), nullable=False, unique=True)
    name = Column(String(120), nullable=False)
    role = Column(_enum(AgentRole, "agent_role"), nullable=False)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False)


class AgentSession(Base):
    """A console login: the cookie holds a random token, the table its hash."""

    __tablename__ = "agent_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    agent_id = Column(ForeignKey("agents.id"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False)
    expires_at = Column(DateTime, nullable=False)

    agent = relationship("Agent")


class Ticket(Base):
    """A chamado opened from the chat.

    ``protocol`` (MSS-2026-000123) is derived from the id in the same
    transaction that inserts the row. ``request_key`` makes creation
    idempotent: the same request never yields two tickets. ``live`` is true
    while the conversation is paused for a person (handoff).
    """

    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    protocol = Column(String(20), nullable=True, unique=True)
    request_key = Column(String(80), nullable=False, unique=True)
    status = Column(_enum(TicketStatus, "ticket_status"), nullable=False)
    category = Column(_enum(TicketCategory, "ticket_category"), nullable=False)
    description = Column(Text, nullable=False)
    channel = Column(String(30), nullable=False)
    sender_id = Column(String(128), nullable=False)
    # Verified identity (set only from a verified chat identification).
    user_id = Column(ForeignKey("users.id"), nullable=True, index=True)
    # Who to answer: the user's registered data, or what an anonymous user typed.
    contact_name = Column(String(200), nullable=False)
    contact_email = Column(String(254), nullable=False)
    contact_cnpj = Column(String(14), nullable=False, index=True)
    handoff_requested = Column(Boolean, nullable=False, default=False)
    live = Column(Boolean, nullable=False, default=False)
    failed_turns = Column(JSON, nullable=False, default=list)
    assigned_agent_id = Column(ForeignKey("agents.id"), nullable=True, index=True)
    created_at = Column(DateTime, nullable=False)
    updated_at = Column(DateTime, nullable=False)
    due_at = Column(DateTime, nullable=False)
    first_response_at = Column(DateTime, nullable=True)
    resolved_at = Column(DateTime, nullable=True)

    user = relationship("User")
    assigned_agent = relationship("Agent")
    messages = relationship("TicketMessage", back_populates="ticket",
                            order_by="(TicketMessage.created_at, TicketMessage.id)")
    events = relationship("TicketEvent", back_populates="ticket",
                          order_by="(TicketEvent.at, TicketEvent.id)")

    __table_args__ = (
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_sender_live", "sender_id", "live"),
    )


class TicketMessage(Base):
    """A line of the ticket's conversation: transcript, replies, notes.

    ``external_ref`` identifies a message copied from the chat (the tracker
    event's timestamp), so copying the same message twice adds nothing.
    """

    __tablename__ = "ticket_messages"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    kind = Column(_enum(MessageKind, "message_kind"), nullable=False)
    body = Column(Text, nullable=False)
    agent_id = Column(ForeignKey("agents.id"), nullable=True)
    in_transcript = Column(Boolean, nullable=False, default=False)
    external_ref = Column(String(64), nullable=True)
    created_at = Column(DateTime, nullable=False)

    ticket = relationship("Ticket", back_populates="messages")
    agent = relationship("Agent")

    __table_args__ = (UniqueConstraint("ticket_id", "external_ref", name="uq_ticket_message_ref"),)


class TicketEvent(Base):
    """The ticket's timeline: opened, assigned, status changes, handoff."""

    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=False, index=True)
    at = Column(DateTime, nullable=False)
    agent_id = Column(ForeignKey("agents.id"), nullable=True)
    kind = Column(String(30), nullable=False)
    detail = Column(Text, nullable=False, default="")

    ticket = relationship("Ticket", back_populates="events")
    agent = relationship("Agent")


class OutboxItem(Base):
    """Work for another system, stored in the same transaction as its cause.

    A worker sends it (chat message to the customer's channel, ticket to the
    external helpdesk) and retries with backoff, so an outage loses nothing.
    ``key`` is unique and doubles as the idempotency key sent out.
    """

    __tablename__ = "outbox"

    id = Column(Integer, primary_key=True)
    kind = Column(String(30), nullable=False)
    key = Column(String(80), nullable=False, unique=True)
    ticket_id = Column(ForeignKey("tickets.id"), nullable=True, index=True)
    # Items of one conversation are delivered in order.
    conversation = Column(String(128), nullable=True)
    payload = Column(JSON, nullable=False)
    created_at = Column(DateTime, nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False)
    claimed_until = Column(DateTime, nullable=True)
    sent_at = Column(DateTime, nullable=True)
    failed_at = Column(DateTime, nullable=True)
    last_error = Column(Text, nullable=True)
    result = Column(String(120), nullable=True)

    __table_args__ = (Index("ix_outbox_pending", "sent_at", "failed_at", "next_attempt_at"),)


class InboundMessage(Base):
    """A message id a channel has received (WhatsApp retries for days).

    The unique (channel, message_id) makes processing at most once; the
    sender and time tell when the customer last wrote (the 24-hour window).
    """

    __tablename__ = "inbound_messages"

    id = Column(Integer, primary_key=True)
    channel = Column(String(30), nullable=False)
    message_id = Column(String(200), nullable=False)
    sender = Column(String(120), nullable=False)
    received_at = Column(DateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("channel", "message_id", name="uq_inbound_message"),
        Index("ix_inbound_sender_received", "channel", "sender", "received_at"),
    )


def utcnow() -> datetime:
    return datetime.utcnow().replace(microsecond=0)
