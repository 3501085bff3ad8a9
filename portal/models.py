"""The portal's data: resellers, users, orders, notas fiscais, boletos, payments,
one-time codes and chat identities.

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


def utcnow() -> datetime:
    return datetime.utcnow().replace(microsecond=0)
