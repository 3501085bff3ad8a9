"""Deterministic demo data: resellers, users, orders, NF-e, boletos, payments.

Everything comes from one seeded random generator, so the same seed always
gives the same CNPJs, CPFs, names, order numbers and amounts; dates are laid
out relative to ``today`` so the data stays current (recent orders, open and
overdue boletos) whatever day it is generated.

    python -m portal demo-data          # creates it when the database is empty
    python -m portal demo-users         # the demo accounts, as JSON
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import ids
from portal.clock import today_in_brazil
from portal.models import (
    ORDER_FLOW,
    Boleto,
    Invoice,
    Order,
    OrderEvent,
    OrderStatus,
    Payment,
    Reseller,
    Role,
    User,
)

SEED = 20261204
RESELLERS = 24
USERS_PER_RESELLER = (2, 3, 3, 4)  # cycled: 24 resellers -> 72 users
ORDERS = 2000
# The reseller at this index has no invoiced order in the last 12 months.
DORMANT_RESELLER = 7

_FIRST = ["Ana", "Bruno", "Carla", "Diego", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela",
          "João", "Karina", "Lucas", "Mariana", "Nicolas", "Olívia", "Paulo", "Quésia", "Rafael",
          "Sabrina", "Thiago", "Úrsula", "Vinícius", "Wesley", "Yasmin", "Zeca", "Fernanda",
          "Rodrigo", "Camila", "Gustavo", "Letícia"]
_LAST = ["Silva", "Souza", "Oliveira", "Santos", "Pereira", "Lima", "Carvalho", "Ferreira",
         "Rodrigues", "Almeida", "Costa", "Gomes", "Martins", "Araújo", "Ribeiro", "Barbosa",
         "Rocha", "Dias", "Nascimento", "Moreira"]
_COMPANY = ["Alfa", "Beta", "Cobra", "Delta", "Estrela", "Fórmula", "Guia", "Horizonte", "Ideal",
            "Júpiter", "Kappa", "Líder", "Master", "Nova Era", "Ômega", "Prisma", "Quasar", "Rede",
            "Sigma", "Titã", "União", "Vetor", "Xingu", "Zênite"]
_BUSINESS = ["Tecnologia", "Automação", "Sistemas", "Informática", "Soluções", "Comércio Digital"]
_REGIONS = ["Sudeste", "Sudeste", "Sul", "Nordeste", "Centro-Oeste", "Norte"]
_ITEMS = ["leitor de código de barras Zebra DS2208", "impressora térmica Zebra ZD220",
          "coletor de dados Honeywell CT45", "etiquetas térmicas 100x50 (rolo)",
          "switch Aruba 24 portas", "access point Ubiquiti U6", "câmera IP Hikvision 4MP",
          "nobreak APC 1500VA", "leitor Honeywell Voyager 1250g", "impressora Elgin i9",
          "gaveta de dinheiro Bematech", "monitor touch Elo 15\"", "headset Poly Blackwire",
          "telefone IP Yealink T31P", "licença Windows Server 2022"]
_CARRIERS = ["Jadlog", "Braspress", "Correios", "TNT Mercúrio", "Total Express"]
_BANKS = ["001", "237", "341", "033"]

# How far back each status tends to be: (min days, max days) since the order.
_AGE_BY_STATUS = {
    OrderStatus.RECEBIDO: (0, 3),
    OrderStatus.EM_ANALISE: (1, 6),
    OrderStatus.APROVADO: (2, 10),
    OrderStatus.FATURADO: (3, 14),
    OrderStatus.EM_SEPARACAO: (4, 18),
    OrderStatus.EM_TRANSPORTE: (5, 25),
    OrderStatus.ENTREGUE: (10, 700),
    OrderStatus.CANCELADO: (2, 700),
}
_STATUS_WEIGHTS = {
    OrderStatus.RECEBIDO: 4,
    OrderStatus.EM_ANALISE: 4,
    OrderStatus.APROVADO: 4,
    OrderStatus.FATURADO: 5,
    OrderStatus.EM_SEPARACAO: 5,
    OrderStatus.EM_TRANSPORTE: 8,
    OrderStatus.ENTREGUE: 62,
    OrderStatus.CANCELADO: 8,
}


@dataclass
class DemoSummary:
    resellers: int
    users: int
    orders: int
    invoices: int
    boletos: int
    payments: int


def _cnpj(rng: random.Random) -> str:
    base = f"{rng.randrange(10**7, 10**8)}0001"
    return base + ids.cnpj_check_digits(base)


def _cpf(rng: random.Random) -> str:
    while True:
        base = f"{rng.randrange(10**8, 10**9)}"
        if base != base[0] * 9:
            return base + ids.cpf_check_digits(base)


def _slug(text: str) -> str:
    """"Fórmula" -> "formula": for e-mail addresses."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text.lower()) if ch.isascii() and ch.isalnum()
    )


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randrange(8, 19), rng.randrange(0, 60)))


def is_empty(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Reseller)) == 0


def create_demo_data(session: Session, today: date | None = None, orders: int = ORDERS,
                     seed: int = SEED) -> DemoSummary:
    """Fills an empty database with the demo data; returns what it created."""
    today = today or today_in_brazil()
    rng = random.Random(seed)
    resellers = _resellers(session, rng, today)
    users = _users(session, rng, resellers)
    summary = _orders(session, rng, resellers, today, orders)
    summary.resellers, summary.users = len(resellers), len(users)
    return summary


def _resellers(session: Session, rng: random.Random, today: date) -> list[Reseller]:
    made = []
    for index in range(RESELLERS):
        name = f"{_COMPANY[index]} {rng.choice(_BUSINESS)} Ltda"
        reseller = Reseller(cnpj=_cnpj(rng), razao_social=name, region=rng.choice(_REGIONS),
                            created_at=_at(today - timedelta(days=900), rng))
        session.add(reseller)
        made.append(reseller)
    session.flush()
    return made


def _users(session: Session, rng: random.Random, resellers: list[Reseller]) -> list[User]:
    made, seen_cpfs = [], set()
    roles = [Role.ADMINISTRADOR, Role.GERENCIADOR, Role.VISUALIZADOR, Role.GERENCIADOR]
    for index, reseller in enumerate(resellers):
        domain = _slug(reseller.razao_social.split()[0]) + ".com.br"
        for position in range(USERS_PER_RESELLER[index % len(USERS_PER_RESELLER)]):
            cpf = _cpf(rng)
            while cpf in seen_cpfs:
                cpf = _cpf(rng)
            seen_cpfs.add(cpf)
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            user = User(
                reseller_id=reseller.id,
                cpf=cpf,
                name=f"{first} {last}",
                email=f"{_slug(first)}.{_slug(last)}{position}@{domain}",
                whatsapp=f"55{rng.choice([11, 21, 31, 41, 51, 61, 71, 81])}9{rng.randrange(6 * 10**7, 10**8)}",  # mobiles: 9 then 6-9
                role=roles[position],
                active=not (position == 3 and index % 5 == 0),
            )
            session.add(user)
            made.append(user)
    session.flush()
    return made


def _orders(session: Session, rng: random.Random, resellers: list[Reseller], today: date,
            count: int) -> DemoSummary:
    summary = DemoSummary(0, 0, 0, 0, 0, 0)
    statuses = list(_STATUS_WEIGHTS)
    weights = list(_STATUS_WEIGHTS.values())
    invoice_number = 100000
    for index in range(count):
        reseller = resellers[index % len(resellers)]
        status = rng.choices(statuses, weights)[0]
        low, high = _AGE_BY_STATUS[status]
        if resellers.index(reseller) == DORMANT_RESELLER:
            # Only old or never-invoiced orders: not eligible to register.
            status = rng.choice([OrderStatus.ENTREGUE, OrderStatus.CANCELADO])
            low, high = 380, 700
        placed = today - timedelta(days=rng.randint(low, high))
        lines = rng.sample(_ITEMS, rng.randint(1, 3))
        quantities = [rng.randint(1, 40) for _ in lines]
        prices = [Decimal(rng.randrange(4_900, 890_000)) / 100 for _ in lines]
        total = sum((q * p for q, p in zip(quantities, prices)), Decimal("0.00"))
        order = Order(
            number=f"45{index + 1:05d}",
            reseller_id=reseller.id,
            placed_on=placed,
            items_summary="; ".join(f"{q}x {item}" for q, item in zip(quantities, lines)),
            total=total.quantize(Decimal("0.01")),
            status=status,
            status_changed_at=_at(placed, rng),
        )
        session.add(order)
        history = _history(status, rng)
        # Steps spread between the order and today, strictly increasing.
        at = _at(placed, rng)
        end = datetime.combine(today, time(18, 0))
        step_gap = max(timedelta(minutes=1), (end - at) / len(history))
        for step in history:
            session.add(OrderEvent(order=order, status=step, at=at))
            order.status_changed_at = at
            at += max(timedelta(minutes=1), step_gap * rng.uniform(0.2, 1.0))
        if status in (OrderStatus.EM_TRANSPORTE, OrderStatus.ENTREGUE):
            order.carrier = rng.choice(_CARRIERS)
            order.tracking_code = f"{rng.choice('ABCDEFGHJK')}{rng.choice('ABCDEFGHJK')}{rng.randrange(10**8, 10**9)}BR"
        summary.orders += 1
        if OrderStatus.FATURADO in history:
            invoice_number += 1
            invoiced_on = min(today, placed + timedelta(days=rng.randint(2, 4)))
            summary_invoice = _invoice(session, rng, order, reseller, invoice_number, invoiced_on, today)
            summary.invoices += 1
            summary.boletos += summary_invoice[0]
            summary.payments += summary_invoice[1]
        if index % 2000 == 1999:  # keep memory flat for large benchmark data sets
            session.flush()
            session.expunge_all()
    session.flush()
    return summary


def _history(status: OrderStatus, rng: random.Random) -> list[OrderStatus]:
    if status is OrderStatus.CANCELADO:
        reached = rng.randint(1, 3)  # cancelled before invoicing: no NF, no boleto
        return ORDER_FLOW[:reached] + [OrderStatus.CANCELADO]
    return ORDER_FLOW[: ORDER_FLOW.index(status) + 1]


def _invoice(session: Session, rng: random.Random, order: Order, reseller: Reseller,
             number: int, issued_on: date, today: date) -> tuple[int, int]:
    series = "001"
    body = (
        "35"  # UF (São Paulo)
        + issued_on.strftime("%y%m")
        + "11222333000181"  # issuer CNPJ: ScanSource's demo CNPJ
        + "55"  # model NF-e
        + series
        + f"{number:09d}"
        + "1"  # normal emission
        + f"{rng.randrange(10**7, 10**8)}"
    )
    invoice = Invoice(order=order, reseller_id=reseller.id, number=f"{number:09d}", series=series,
                      access_key=body + ids.nfe_key_check_digit(body), issued_on=issued_on,
                      total=order.total)
    session.add(invoice)
    installments = rng.choice([1, 1, 2, 3])
    share = (order.total / installments).quantize(Decimal("0.01"))
    amounts = [share] * (installments - 1) + [order.total - share * (installments - 1)]
    boletos = payments = 0
    for position, amount in enumerate(amounts, start=1):
        due = issued_on + timedelta(days=28 * position)
        free_field = f"{number:09d}{position:02d}{rng.randrange(10**13, 10**14)}"
        barcode = ids.boleto_barcode(rng.choice(_BANKS), due, amount, free_field)
        boleto = Boleto(invoice=invoice, reseller_id=reseller.id,
                        linha_digitavel=ids.linha_digitavel(barcode), due_date=due, amount=amount)
        session.add(boleto)
        boletos += 1
        # Most past-due boletos were paid (some late); a few stay overdue.
        if due < today and rng.random() < 0.9:
            paid_on = min(today, due + timedelta(days=rng.choice([-3, -1, 0, 0, 0, 2, 6])))
            boleto.paid_on = paid_on
            session.add(Payment(boleto=boleto, paid_on=paid_on, amount=amount))
            payments += 1
        elif due >= today and due - today < timedelta(days=10) and rng.random() < 0.3:
            boleto.paid_on = today - timedelta(days=rng.randint(0, 2))
            session.add(Payment(boleto=boleto, paid_on=boleto.paid_on, amount=amount))
            payments += 1
    return boletos, payments
