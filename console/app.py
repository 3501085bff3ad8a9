"""Sanic app on 127.0.0.1:8000: serves the signed document links.

    GET /documentos/<token>   the PDF, or a 403 page in pt-BR
    GET /health               {"status": "ok"}
"""

from __future__ import annotations

import html

from sanic import Sanic, response
from sanic.request import Request

from portal.clock import today_in_brazil
from portal.db import session_scope
from portal.documents import Document, LinkProblem, open_document
from portal.settings import check_production_secrets, settings

PROBLEM_PAGES = {
    LinkProblem.EXPIRED: (
        "Este link expirou",
        "Por segurança, os links de download valem por 15 minutos. "
        "Peça o documento de novo no chat que eu envio um link novo.",
    ),
    LinkProblem.INVALID: (
        "Link inválido",
        "Não consegui reconhecer este link. Copie o link completo que recebeu no chat "
        "ou peça o documento de novo.",
    ),
    LinkProblem.FORBIDDEN: (
        "Download não permitido",
        "Este documento não está disponível para o seu usuário. Lembre-se de que o perfil "
        "Visualizador não permite download; se precisar, fale com o administrador da sua revenda.",
    ),
}

PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - My ScanSource</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#1d2733}}
h1{{font-size:1.4rem}}</style></head>
<body><main><h1>{title}</h1><p>{text}</p></main></body></html>"""


def problem_page(problem: LinkProblem) -> response.HTTPResponse:
    title, text = PROBLEM_PAGES[problem]
    return response.html(PAGE.format(title=html.escape(title), text=html.escape(text)), status=403)


def create_app(name: str = "myscansource_console") -> Sanic:
    check_production_secrets()
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = 64 * 1024

    @app.get("/health")
    async def health(_: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    @app.get("/documentos/<token:str>")
    async def download(_: Request, token: str) -> response.HTTPResponse:
        if len(token) > 2048:
            return problem_page(LinkProblem.INVALID)
        with session_scope() as session:
            result = open_document(session, settings().download_secret, token, today_in_brazil())
        if not isinstance(result, Document):
            return problem_page(result)
        return response.raw(
            result.pdf,
            content_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{result.filename}"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return app
