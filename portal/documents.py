"""Document downloads: signed, expiring links and the PDFs they return.

A link carries a JWT (HS256, ``DOWNLOAD_SECRET``) naming the user, the
document and an expiry 15 minutes ahead. Whoever serves the link calls
``open_document`` with the token: it checks the signature and expiry, then
checks again against the database that the user is active, may download
(not Visualizador) and belongs to the document's reseller, and only then
renders the PDF from the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum

import jwt
from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal import ids
from portal.lookups import Viewer, viewer_for
from portal.models import Boleto, Invoice, Reseller

LINK_TTL = timedelta(minutes=15)
AUDIENCE = "myscansource-documents"


class DocumentKind(str, Enum):
    NOTA_FISCAL = "nf"
    BOLETO = "boleto"


class LinkProblem(str, Enum):
    INVALID = "invalid"  # tampered, malformed or signed with another key
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"  # user inactive, Visualizador, or another reseller's document


@dataclass(frozen=True)
class Document:
    filename: str
    pdf: bytes


def sign_link(secret: str, viewer: Viewer, kind: DocumentKind, document_id: int,
              now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    claims = {"sub": str(viewer.user_id), "doc": kind.value, "id": document_id,
              "aud": AUDIENCE, "iat": now, "exp": now + LINK_TTL}
    return jwt.encode(claims, secret, algorithm="HS256")


def open_document(session: Session, secret: str, token: str, today: date) -> Document | LinkProblem:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["exp", "sub", "aud"]})
        kind = DocumentKind(claims["doc"])
        document_id = int(claims["id"])
        user_id = int(claims["sub"])
    except jwt.ExpiredSignatureError:
        return LinkProblem.EXPIRED
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
        return LinkProblem.INVALID

    viewer = viewer_for(session, user_id)
    if viewer is None or not viewer.can_download:
        return LinkProblem.FORBIDDEN
    if kind is DocumentKind.NOTA_FISCAL:
        invoice = session.scalar(
            select(Invoice).options(selectinload(Invoice.order))
            .where(Invoice.id == document_id, Invoice.reseller_id == viewer.reseller_id)
        )
        if invoice is None:
            return LinkProblem.FORBIDDEN
        reseller = session.get(Reseller, viewer.reseller_id)
        return Document(f"NF-{invoice.number.lstrip('0')}.pdf", render_invoice(invoice, reseller))
    boleto = session.scalar(
        select(Boleto).options(selectinload(Boleto.invoice))
        .where(Boleto.id == document_id, Boleto.reseller_id == viewer.reseller_id)
    )
    if boleto is None:
        return LinkProblem.FORBIDDEN
    reseller = session.get(Reseller, viewer.reseller_id)
    return Document(f"boleto-NF-{boleto.invoice.number.lstrip('0')}-{boleto.id}.pdf",
                    render_boleto(boleto, reseller, today))


# --- PDFs -------------------------------------------------------------------------

def _money(value) -> str:
    whole, cents = f"{value:.2f}".split(".")
    return "R$ " + f"{int(whole):,}".replace(",", ".") + "," + cents


def _pdf(title: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_title(title)
    pdf.set_author("ScanSource Brasil")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    return pdf


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(55, 7, label)
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")


def render_invoice(invoice: Invoice, reseller: Reseller) -> bytes:
    pdf = _pdf("DANFE - Documento Auxiliar da Nota Fiscal Eletrônica")
    pdf.cell(0, 6, "2ª via emitida pelo assistente My ScanSource", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _row(pdf, "Emitente", "ScanSource Brasil - CNPJ 11.222.333/0001-81")
    _row(pdf, "Destinatário", f"{reseller.razao_social} - CNPJ {ids.format_cnpj(reseller.cnpj)}")
    _row(pdf, "Número / série", f"{invoice.number} / {invoice.series}")
    _row(pdf, "Data de emissão", invoice.issued_on.strftime("%d/%m/%Y"))
    _row(pdf, "Pedido", invoice.order.number)
    _row(pdf, "Chave de acesso", ids.format_nfe_key(invoice.access_key))
    _row(pdf, "Produtos", invoice.order.items_summary)
    _row(pdf, "Valor total da nota", _money(invoice.total))
    return bytes(pdf.output())


def render_boleto(boleto: Boleto, reseller: Reseller, today: date) -> bytes:
    pdf = _pdf("Boleto bancário - 2ª via")
    pdf.ln(2)
    _row(pdf, "Beneficiário", "ScanSource Brasil - CNPJ 11.222.333/0001-81")
    _row(pdf, "Pagador", f"{reseller.razao_social} - CNPJ {ids.format_cnpj(reseller.cnpj)}")
    _row(pdf, "Nota fiscal", boleto.invoice.number.lstrip("0"))
    _row(pdf, "Vencimento", boleto.due_date.strftime("%d/%m/%Y"))
    _row(pdf, "Valor", _money(boleto.amount))
    _row(pdf, "Situação", boleto.status(today))
    _row(pdf, "Linha digitável", ids.format_linha_digitavel(boleto.linha_digitavel))
    pdf.ln(4)
    pdf.interleaved2of5(ids.barcode_from_linha(boleto.linha_digitavel), x=15, y=pdf.get_y(),
                        w=0.35, h=13)
    return bytes(pdf.output())
