"""Signed document links and the PDFs behind them, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from conftest import DEMO_TODAY as TODAY
from portal import ids
from portal.db import session_scope
from portal.documents import Document, DocumentKind, LinkProblem, open_document, sign_link
from portal.lookups import find_invoices, viewer_for
from portal.models import Invoice, Role, User

SECRET = "test-download-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def cast(demo_db):
    """A Gerenciador, a Visualizador of the same reseller, someone else, and one NF."""
    url, _ = demo_db
    with session_scope(url) as s:
        users = s.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
        viewer_only = next(u for u in users if u.role is Role.VISUALIZADOR)
        manager = next(u for u in users if u.role is Role.GERENCIADOR and u.reseller_id == viewer_only.reseller_id)
        stranger = next(u for u in users if u.reseller_id != manager.reseller_id and u.role is Role.ADMINISTRADOR)
        invoice = s.scalars(select(Invoice).where(Invoice.reseller_id == manager.reseller_id)
                            .order_by(Invoice.id)).first()
        (view,) = find_invoices(s, viewer_for(s, manager.id), invoice.number, TODAY)
        return {"url": url, "manager": viewer_for(s, manager.id), "viewer": viewer_for(s, viewer_only.id),
                "stranger": viewer_for(s, stranger.id), "invoice": view}


def open_with(cast, token, secret=SECRET):
    with session_scope(cast["url"]) as s:
        return open_document(s, secret, token, TODAY)


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_manager_downloads_a_real_invoice_pdf(cast):
    invoice = cast["invoice"]
    token = sign_link(SECRET, cast["manager"], DocumentKind.NOTA_FISCAL, invoice.id)
    document = open_with(cast, token)
    assert isinstance(document, Document)
    assert document.pdf.startswith(b"%PDF-") and document.filename == f"NF-{invoice.number}.pdf"
    text = pdf_text(document.pdf)
    assert ids.format_nfe_key(invoice.access_key) in text and "Eletrônica" in text


def test_boleto_pdf_carries_the_linha_digitavel(cast):
    boleto = cast["invoice"].boletos[0]
    document = open_with(cast, sign_link(SECRET, cast["manager"], DocumentKind.BOLETO, boleto.id))
    assert isinstance(document, Document) and document.pdf.startswith(b"%PDF-")
    text = pdf_text(document.pdf)
    assert ids.format_linha_digitavel(boleto.linha_digitavel) in text


def test_visualizador_links_are_refused_even_if_signed(cast):
    token = sign_link(SECRET, cast["viewer"], DocumentKind.NOTA_FISCAL, cast["invoice"].id)
    assert open_with(cast, token) is LinkProblem.FORBIDDEN


def test_another_resellers_user_cannot_open_the_document(cast):
    token = sign_link(SECRET, cast["stranger"], DocumentKind.NOTA_FISCAL, cast["invoice"].id)
    assert open_with(cast, token) is LinkProblem.FORBIDDEN


def test_expired_links_are_refused(cast):
    signed_at = datetime.now(timezone.utc) - timedelta(minutes=15, seconds=5)
    token = sign_link(SECRET, cast["manager"], DocumentKind.NOTA_FISCAL, cast["invoice"].id, now=signed_at)
    assert open_with(cast, token) is LinkProblem.EXPIRED


@pytest.mark.parametrize("tamper", ["payload", "signature", "secret", "garbage", "empty"])
def test_tampered_links_are_refused(cast, tamper):
    token = sign_link(SECRET, cast["manager"], DocumentKind.NOTA_FISCAL, cast["invoice"].id)
    header, payload, signature = token.split(".")
    secret = SECRET
    if tamper == "payload":  # same signature, another document id
        other = sign_link("another-key-of-32-bytes-or-more-000", cast["manager"], DocumentKind.NOTA_FISCAL, cast["invoice"].id + 1)
        token = f"{header}.{other.split('.')[1]}.{signature}"
    elif tamper == "signature":
        token = f"{header}.{payload}.{signature[:-2]}AA"
    elif tamper == "secret":
        secret = "another-secret-of-32-bytes-or-more-00"
    elif tamper == "garbage":
        token = "not-a-token"
    else:
        token = ""
    assert open_with(cast, token, secret) is LinkProblem.INVALID
