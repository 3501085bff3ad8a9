"""The download endpoint of the web app, over real HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import requests
from sqlalchemy import select

from conftest import STACK_SECRETS
from portal.db import session_scope
from portal.documents import DocumentKind, sign_link
from portal.lookups import viewer_for
from portal.models import Boleto, Role, User

SECRET = STACK_SECRETS["DOWNLOAD_SECRET"]


def a_link(stack, role=Role.GERENCIADOR, signed_at=None, secret=SECRET):
    with session_scope(stack.database_url) as s:
        user = s.scalars(select(User).where(User.role == role, User.active.is_(True))).first()
        viewer = viewer_for(s, user.id)
        boleto = s.scalars(select(Boleto).where(Boleto.reseller_id == viewer.reseller_id)).first()
        token = sign_link(secret, viewer, DocumentKind.BOLETO, boleto.id, now=signed_at)
    return f"{stack.console_url}/documentos/{token}"


def test_a_signed_link_downloads_the_pdf(stack):
    reply = requests.get(a_link(stack), timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["Content-Disposition"].startswith('attachment; filename="boleto-NF-')
    assert reply.content.startswith(b"%PDF-")


def test_expired_tampered_and_visualizador_links_get_a_403_page_in_portuguese(stack):
    expired = a_link(stack, signed_at=datetime.now(timezone.utc) - timedelta(minutes=16))
    forged = a_link(stack, secret="someone-else-s-secret-0123456789abcdef")
    visualizador = a_link(stack, role=Role.VISUALIZADOR)
    for url, title in [(expired, "Este link expirou"), (forged, "Link inválido"),
                       (visualizador, "Download não permitido"),
                       (f"{stack.console_url}/documentos/{'x' * 5000}", "Link inválido")]:
        reply = requests.get(url, timeout=10)
        assert reply.status_code == 403
        assert reply.headers["Content-Type"].startswith("text/html")
        assert f"<h1>{title}</h1>" in reply.text and 'lang="pt-BR"' in reply.text
