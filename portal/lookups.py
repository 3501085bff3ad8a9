"""What an authenticated user may look up: orders, NF-e, boletos, payments.

Every query is scoped to the viewer's reseller (CNPJ). Asking for another
reseller's order, NF or boleto gives exactly the same result as asking for a
number that does not exist: ``None`` / an empty list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal import ids
from portal.models import MONEY, Boleto, Invoice, Order, OrderStatus, Reseller, Role, User

# Order numbers have 7 digits (45xxxxx); NF numbers up to 9. Anything longer is
# neither, and the user is told so instead of "not found".
MIN_DOCUMENT_DIGITS = 5
MAX_DOCUMENT_DIGITS = 9
RECENT_ORDERS = 5
RECENTLY_PAID = timedelta(days=30)
ELIGIBILITY_WINDOW = timedelta(days=365)

STATUS_MEANING = {
    OrderStatus.RECEBIDO: "Recebemos o seu pedido e ele vai passar pela análise.",
    OrderStatus.EM_ANALISE: "O pedido está em análise comercial e de crédito.",
    OrderStatus.APROVADO: "O pedido foi aprovado e vai ser faturado.",
    OrderStatus.FATURADO: "A nota fiscal foi emitida; em seguida o pedido vai para separação.",
    OrderStatus.EM_SEPARACAO: "Os produtos estão sendo separados no nosso centro de distribuição.",
    OrderStatus.EM_TRANSPORTE: "O pedido saiu para entrega com a transportadora.",
    OrderStatus.ENTREGUE: "O pedido foi entregue.",
    OrderStatus.CANCELADO: "O pedido foi cancelado. Se tiver dúvidas, fale com o seu vendedor.",
}


@dataclass(frozen=True)
class Viewer:
    """The verified user on whose behalf lookups run."""

    user_id: int
    reseller_id: int
    cnpj: str
    role: Role
    first_name: str

    @property
    def can_download(self) -> bool:
        return self.role.can_download


def viewer_for(session: Session, user_id: int | None) -> Viewer | None:
    if user_id is None:
        return None
    user = session.scalar(
        select(User).options(selectinload(User.reseller)).where(User.id == user_id, User.active.is_(True))
    )
    if user is None:
        return None
    return Viewer(user.id, user.reseller_id, user.reseller.cnpj, user.role, user.name.split()[0])


class NumberProblem(str, Enum):
    MISSING = "missing"
    HAS_LETTERS = "has_letters"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class DocumentNumber:
    number: str | None = None
    problem: NumberProblem | None = None


_CANDIDATE = re.compile(r"(?<![\w.\-])(\d[\d.\-]*\d|\d)(?![\w\-])")
_ALNUM_WITH_DIGITS = re.compile(r"\b(?=\w*\d)(?=\w*[a-zA-Z])\w{4,}\b")


_MONEY_OR_DATE = re.compile(
    r"R\$\s*[\d.,]+|\b\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b|\b\d[\d.]*,\d{2}\b", re.IGNORECASE
)
_AFTER_KEYWORD = re.compile(
    r"\b(?:pedido|ped|nf-?e?|nota(?:\s+fiscal)?|danfe|boleto)\b\D{0,8}?(?<![^\W\d_])(\d[\d.\-]*\d)(?![\w\-])", re.IGNORECASE
)


def parse_document_number(text: str | None) -> DocumentNumber:
    """The order or NF number in a free-text message ("pedido 4500123?").

    Amounts ("R$ 12.345,67") and dates are not numbers of documents; a number
    right after "pedido", "nf", "nota"... wins over other numbers.
    """
    text = _MONEY_OR_DATE.sub(" ", text or "")
    for match in _AFTER_KEYWORD.finditer(text):
        number = ids.digits(match.group(1))
        if MIN_DOCUMENT_DIGITS <= len(number) <= MAX_DOCUMENT_DIGITS:
            return DocumentNumber(number=number.lstrip("0") or "0")
    numbers = [ids.digits(m) for m in _CANDIDATE.findall(text)]
    numbers = [n for n in numbers if len(n) >= MIN_DOCUMENT_DIGITS]
    fitting = [n for n in numbers if len(n) <= MAX_DOCUMENT_DIGITS]
    if fitting:
        return DocumentNumber(number=fitting[0].lstrip("0") or "0")
    if numbers:
        return DocumentNumber(problem=NumberProblem.TOO_LONG)
    if _ALNUM_WITH_DIGITS.search(text):
        return DocumentNumber(problem=NumberProblem.HAS_LETTERS)
    return DocumentNumber(problem=NumberProblem.MISSING)


@dataclass(frozen=True)
class OrderView:
    number: str
    placed_on: date
    status: OrderStatus
    status_changed_at: datetime
    total: Decimal
    items_summary: str
    carrier: str | None
    tracking_code: str | None
    invoice_numbers: list[str]

    @property
    def meaning(self) -> str:
        return STATUS_MEANING[self.status]


def _order_view(order: Order) -> OrderView:
    return OrderView(
        number=order.number,
        placed_on=order.placed_on,
        status=order.status,
        status_changed_at=order.status_changed_at,
        total=order.total,
        items_summary=order.items_summary,
        carrier=order.carrier,
        tracking_code=order.tracking_code,
        invoice_numbers=[i.number.lstrip("0") for i in order.invoices],
    )


def find_order(session: Session, viewer: Viewer, number: str) -> OrderView | None:
    order = session.scalar(
        select(Order)
        .options(selectinload(Order.invoices))
        .where(Order.number == number, Order.reseller_id == viewer.reseller_id)
    )
    return _order_view(order) if order else None


def recent_orders(session: Session, viewer: Viewer, limit: int = RECENT_ORDERS) -> list[OrderView]:
    orders = session.scalars(
        select(Order)
        .options(selectinload(Order.invoices))
        .where(Order.reseller_id == viewer.reseller_id)
        .order_by(Order.placed_on.desc(), Order.number.desc())
        .limit(limit)
    ).all()
    return [_order_view(o) for o in orders]


@dataclass(frozen=True)
class BoletoView:
    id: int
    linha_digitavel: str
    due_date: date
    amount: Decimal
    status: str
    paid_on: date | None
    invoice_number: str
    order_number: str


@dataclass(frozen=True)
class InvoiceView:
    id: int
    number: str
    series: str
    access_key: str
    issued_on: date
    total: Decimal
    order_number: str
    boletos: list[BoletoView] = field(default_factory=list)


def _invoices_query(viewer: Viewer, number: str):
    """Invoices of the viewer's reseller whose order number or NF number is ``number``."""
    by_order = select(Order.id).where(Order.number == number, Order.reseller_id == viewer.reseller_id)
    return (
        select(Invoice)
        .options(selectinload(Invoice.order), selectinload(Invoice.boletos))
        .where(Invoice.reseller_id == viewer.reseller_id)
        .where((Invoice.order_id.in_(by_order)) | (Invoice.number == number.zfill(9)))
        .order_by(Invoice.issued_on, Invoice.id)
    )


def find_invoices(session: Session, viewer: Viewer, number: str, today: date) -> list[InvoiceView]:
    views = []
    for invoice in session.scalars(_invoices_query(viewer, number)):
        order_number = invoice.order.number
        boletos = [
            BoletoView(b.id, b.linha_digitavel, b.due_date, b.amount, b.status(today), b.paid_on,
                       invoice.number.lstrip("0"), order_number)
            for b in sorted(invoice.boletos, key=lambda b: (b.due_date, b.id))
        ]
        views.append(InvoiceView(invoice.id, invoice.number.lstrip("0"), invoice.series,
                                 invoice.access_key, invoice.issued_on, invoice.total,
                                 order_number, boletos))
    return views


def find_boletos(session: Session, viewer: Viewer, number: str, today: date) -> list[BoletoView]:
    return [b for invoice in find_invoices(session, viewer, number, today) for b in invoice.boletos]


@dataclass(frozen=True)
class TitleGroup:
    """A group of boletos: how many, their total, and the first few by due date."""

    count: int
    total: Decimal
    first: list[BoletoView]


@dataclass(frozen=True)
class PaymentSummary:
    overdue: TitleGroup
    open: TitleGroup
    recently_paid: TitleGroup


SHOWN_PER_GROUP = 3


def payment_summary(session: Session, viewer: Viewer, today: date) -> PaymentSummary:
    """Counts and totals in SQL (a reseller may have thousands of titles);
    only the first few of each group are loaded."""
    mine = Boleto.reseller_id == viewer.reseller_id
    unpaid = Boleto.paid_on.is_(None)
    groups = {
        "overdue": (mine & unpaid & (Boleto.due_date < today), Boleto.due_date),
        "open": (mine & unpaid & (Boleto.due_date >= today), Boleto.due_date),
        "recently_paid": (mine & (Boleto.paid_on >= today - RECENTLY_PAID), Boleto.paid_on.desc()),
    }
    result = {}
    for name, (condition, order) in groups.items():
        count, total = session.execute(
            select(func.count(Boleto.id), func.sum(Boleto.amount, type_=MONEY)).where(condition)
        ).one()
        rows = session.execute(
            select(Boleto, Invoice.number, Order.number)
            .join(Invoice, Boleto.invoice_id == Invoice.id)
            .join(Order, Invoice.order_id == Order.id)
            .where(condition)
            .order_by(order, Boleto.id)
            .limit(SHOWN_PER_GROUP)
        ).all()
        first = [
            BoletoView(b.id, b.linha_digitavel, b.due_date, b.amount, b.status(today), b.paid_on,
                       nf.lstrip("0"), order_number)
            for b, nf, order_number in rows
        ]
        result[name] = TitleGroup(count, total or Decimal("0.00"), first)
    return PaymentSummary(**result)


class Eligibility(str, Enum):
    INVALID_CNPJ = "invalid_cnpj"
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"  # unknown CNPJ or no invoiced order in 12 months


def registration_eligibility(session: Session, cnpj_text: str, today: date) -> Eligibility:
    cnpj = ids.digits(cnpj_text)
    if not ids.is_valid_cnpj(cnpj):
        return Eligibility.INVALID_CNPJ
    invoiced = session.scalar(
        select(Invoice.id)
        .join(Reseller, Invoice.reseller_id == Reseller.id)
        .where(Reseller.cnpj == cnpj, Invoice.issued_on >= today - ELIGIBILITY_WINDOW)
        .limit(1)
    )
    return Eligibility.ELIGIBLE if invoiced else Eligibility.NOT_ELIGIBLE
