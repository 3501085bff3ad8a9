"""The schema (Alembic) and the demo data, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from portal import demo, ids
from portal.db import session_scope
from portal.models import Boleto, Invoice, Order, OrderStatus, Reseller, Role, User

from conftest import DEMO_TODAY as TODAY


def test_demo_data_has_the_promised_size(demo_db):
    url, summary = demo_db
    assert summary.resellers >= 20 and summary.users >= 60 and summary.orders == 2000
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 2000
        roles = Counter(session.scalars(select(User.role)).all())
        assert set(roles) == set(Role) and min(roles.values()) >= 10


def test_every_document_number_is_valid(demo_db):
    url, _ = demo_db
    with session_scope(url) as session:
        assert all(ids.is_valid_cnpj(c) for c in session.scalars(select(Reseller.cnpj)))
        assert all(ids.is_valid_cpf(c) for c in session.scalars(select(User.cpf)))
        assert all(ids.is_valid_nfe_key(k) for k in session.scalars(select(Invoice.access_key)))
        assert all(ids.is_valid_linha_digitavel(l) for l in session.scalars(select(Boleto.linha_digitavel)))


def test_orders_cover_every_status_with_a_consistent_history(demo_db):
    url, _ = demo_db
    with session_scope(url) as session:
        orders = session.scalars(select(Order)).all()
        assert {o.status for o in orders} == set(OrderStatus)
        for order in orders[:300]:
            assert order.events[-1].status == order.status
            assert order.events[0].status == OrderStatus.RECEBIDO
            assert (order.carrier is not None) == (order.status in (OrderStatus.EM_TRANSPORTE, OrderStatus.ENTREGUE))


def test_money_is_exact_and_boletos_add_up_to_their_invoice(demo_db):
    url, _ = demo_db
    with session_scope(url) as session:
        for invoice in session.scalars(select(Invoice).limit(400)):
            assert isinstance(invoice.total, Decimal)
            assert sum(b.amount for b in invoice.boletos) == invoice.total


def test_boletos_are_open_overdue_and_paid(demo_db):
    url, _ = demo_db
    with session_scope(url) as session:
        statuses = Counter(b.status(TODAY) for b in session.scalars(select(Boleto)))
    assert statuses["aberto"] > 0 and statuses["vencido"] > 0 and statuses["pago"] > 0


def test_one_reseller_has_no_invoiced_order_in_the_last_12_months(demo_db):
    url, _ = demo_db
    year_ago = TODAY - timedelta(days=365)
    with session_scope(url) as session:
        recent = select(Invoice.reseller_id).where(Invoice.issued_on >= year_ago)
        dormant = session.scalars(select(Reseller).where(Reseller.id.not_in(recent))).all()
    assert len(dormant) >= 1


def test_demo_data_is_deterministic(demo_db, tmp_path):
    from portal.migrate import upgrade

    url, _ = demo_db
    other = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade(other)
    with session_scope(other) as session:
        demo.create_demo_data(session, today=TODAY)

    def fingerprint(database):
        with session_scope(database) as session:
            return (
                session.scalars(select(Reseller.cnpj).order_by(Reseller.id)).all(),
                session.scalars(select(User.cpf).order_by(User.id)).all(),
                session.scalars(select(Order.total).order_by(Order.number)).all()[:200],
                session.scalars(select(Boleto.linha_digitavel).order_by(Boleto.id)).all()[:200],
            )

    assert fingerprint(url) == fingerprint(other)
