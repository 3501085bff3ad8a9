"""Lookups scoped to the viewer's reseller, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from conftest import DEMO_TODAY as TODAY
from portal import demo, ids
from portal.db import session_scope
from portal.lookups import (
    Eligibility,
    NumberProblem,
    find_boletos,
    find_invoices,
    find_order,
    parse_document_number,
    payment_summary,
    recent_orders,
    registration_eligibility,
    viewer_for,
)
from portal.models import Boleto, Invoice, Order, OrderStatus, Reseller, Role, User


@pytest.mark.parametrize(
    "text, number, problem",
    [
        ("qual o status do pedido 4500123?", "4500123", None),
        ("pedido nº 4.500.123", "4500123", None),
        ("4500123", "4500123", None),
        ("nf 000100123", "100123", None),
        ("meu cpf é 529.982.247-25 e o pedido 4500123", "4500123", None),
        ("boleto de R$ 12.345,67 do pedido 4500123", "4500123", None),
        ("feito em 10-12-2026, numero 4500123", "4500123", None),
        ("o cnpj 11.222.333/0001-81 e a nf 100123", "100123", None),
        ("pedido 4500l23", None, NumberProblem.HAS_LETTERS),
        ("pedido ABC45001", None, NumberProblem.HAS_LETTERS),
        ("pedido 123456789012345678901234567890", None, NumberProblem.TOO_LONG),
        ("quero ver meu pedido", None, NumberProblem.MISSING),
        ("'; DROP TABLE orders; --", None, NumberProblem.MISSING),
        ("", None, NumberProblem.MISSING),
    ],
)
def test_document_numbers_in_free_text(text, number, problem):
    parsed = parse_document_number(text)
    assert (parsed.number, parsed.problem) == (number, problem)


@pytest.fixture(scope="module")
def people(demo_db):
    """Two users of different resellers and one order/NF of each reseller."""
    url, _ = demo_db
    with session_scope(url) as s:
        users = s.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
        mine = users[0]
        theirs = next(u for u in users if u.reseller_id != mine.reseller_id)
        invoiced = (
            select(Invoice)
            .join(Order)
            .where(Order.status == OrderStatus.ENTREGUE)
            .order_by(Invoice.id)
        )
        my_invoice = s.scalars(invoiced.where(Invoice.reseller_id == mine.reseller_id)).first()
        their_invoice = s.scalars(invoiced.where(Invoice.reseller_id == theirs.reseller_id)).first()
        return {
            "url": url,
            "me": viewer_for(s, mine.id),
            "them": viewer_for(s, theirs.id),
            "my_order": my_invoice.order.number,
            "my_nf": my_invoice.number.lstrip("0"),
            "their_order": their_invoice.order.number,
            "their_nf": their_invoice.number.lstrip("0"),
        }


def test_viewer_is_only_an_active_user(demo_db, people):
    url, _ = demo_db
    with session_scope(url) as s:
        inactive = s.scalar(select(User).where(User.active.is_(False)))
        assert viewer_for(s, inactive.id) is None
        assert viewer_for(s, 10**9) is None
        assert viewer_for(s, None) is None
    assert people["me"].role in set(Role)


def test_own_order_is_found_with_its_status_and_nf(people):
    with session_scope(people["url"]) as s:
        order = find_order(s, people["me"], people["my_order"])
    assert order.number == people["my_order"]
    assert order.status is OrderStatus.ENTREGUE and order.meaning == "O pedido foi entregue."
    assert order.carrier and order.tracking_code
    assert people["my_nf"] in order.invoice_numbers


def test_another_resellers_order_looks_exactly_like_a_missing_one(people):
    with session_scope(people["url"]) as s:
        assert find_order(s, people["me"], people["their_order"]) is None
        assert find_order(s, people["me"], "9999999") is None
        assert find_invoices(s, people["me"], people["their_order"], TODAY) == []
        assert find_invoices(s, people["me"], people["their_nf"], TODAY) == []
        assert find_boletos(s, people["me"], people["their_nf"], TODAY) == []
        assert find_order(s, people["them"], people["their_order"]) is not None


def test_recent_orders_are_the_five_latest_of_the_reseller(people):
    url, me = people["url"], people["me"]
    with session_scope(url) as s:
        recent = recent_orders(s, me)
        own = s.scalars(select(Order.number).where(Order.reseller_id == me.reseller_id)).all()
    assert len(recent) == 5 and {o.number for o in recent} <= set(own)
    assert [o.placed_on for o in recent] == sorted((o.placed_on for o in recent), reverse=True)


@pytest.mark.parametrize("by", ["my_order", "my_nf"])
def test_invoice_by_order_or_nf_number(people, by):
    with session_scope(people["url"]) as s:
        (invoice,) = find_invoices(s, people["me"], people[by], TODAY)
    assert invoice.number == people["my_nf"] and invoice.order_number == people["my_order"]
    assert ids.is_valid_nfe_key(invoice.access_key) and invoice.series == "001"
    assert invoice.boletos and sum(b.amount for b in invoice.boletos) == invoice.total
    assert all(ids.is_valid_linha_digitavel(b.linha_digitavel) for b in invoice.boletos)


def test_payment_summary_counts_and_totals_match_the_reseller_titles(demo_db):
    url, _ = demo_db
    with session_scope(url) as s:
        viewers = [viewer_for(s, u) for u in s.scalars(select(User.id).where(User.active.is_(True)))][:30]
        checked = []
        for viewer in viewers:
            summary = payment_summary(s, viewer, TODAY)
            boletos = s.scalars(select(Boleto).where(Boleto.reseller_id == viewer.reseller_id)).all()
            own_orders = set(s.scalars(select(Order.number).where(Order.reseller_id == viewer.reseller_id)))
            checked.append((viewer, summary, boletos, own_orders))
    assert any(p.overdue.count for _, p, _, _ in checked) and any(p.open.count for _, p, _, _ in checked)
    assert any(p.recently_paid.count for _, p, _, _ in checked)
    for viewer, summary, boletos, own_orders in checked:
        overdue = [b for b in boletos if b.status(TODAY) == "vencido"]
        open_ = [b for b in boletos if b.status(TODAY) == "aberto"]
        paid = [b for b in boletos if b.paid_on and b.paid_on >= TODAY - timedelta(days=30)]
        for group, expected in [(summary.overdue, overdue), (summary.open, open_), (summary.recently_paid, paid)]:
            assert group.count == len(expected)
            assert group.total == sum((b.amount for b in expected), Decimal("0.00"))
            assert len(group.first) == min(3, len(expected))
            assert {b.order_number for b in group.first} <= own_orders
        assert [b.due_date for b in summary.overdue.first] == sorted(b.due_date for b in overdue)[:3]


def test_registration_eligibility_from_invoiced_orders(demo_db):
    url, _ = demo_db
    with session_scope(url) as s:
        cnpjs = s.scalars(select(Reseller.cnpj).order_by(Reseller.id)).all()
        dormant = cnpjs[demo.DORMANT_RESELLER]
        active = cnpjs[0]
        assert registration_eligibility(s, ids.format_cnpj(active), TODAY) is Eligibility.ELIGIBLE
        assert registration_eligibility(s, dormant, TODAY) is Eligibility.NOT_ELIGIBLE
        assert registration_eligibility(s, "11.222.333/0001-81", TODAY) is Eligibility.NOT_ELIGIBLE
        assert registration_eligibility(s, "11.222.333/0001-80", TODAY) is Eligibility.INVALID_CNPJ
        assert registration_eligibility(s, "abc", TODAY) is Eligibility.INVALID_CNPJ
