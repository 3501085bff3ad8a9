"""Sanic app on 127.0.0.1:8000: the signed document links and the agents' console.

    GET /                     the demo portal page with the chat widget, or a
                              redirect to /atendimento/ (console/demo.py)
    GET /documentos/<token>   the PDF, or a 403 page in pt-BR
    GET /health               {"status": "ok"}
    GET /widget/...           the website chat widget's files (console/widget.py)
    /atendimento/...          the agents' console (console/routes.py)

While the server runs, a background thread delivers the outbox (agents'
replies to the customer's chat, Zendesk copies): console/delivery.py.
"""

from __future__ import annotations

import html
import logging

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from console import delivery, demo, routes, widget
from console.config import console_settings
from console.pages import error_page
from console.rasa_api import RasaClient
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


log = logging.getLogger(__name__)

# Every response but the document downloads (whose pages keep their own style).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


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

    config = console_settings()
    app.ctx.config = config
    app.ctx.rasa = RasaClient(config.rasa_url, config.rasa_token)
    app.ctx.handlers = delivery.handlers(config)
    app.ctx.worker = None
    routes.register(app)
    widget.register(app)
    demo.register(app)

    @app.listener("after_server_start")
    async def start_worker(app: Sanic, _loop) -> None:
        if config.worker:
            app.ctx.worker = delivery.Worker(app.ctx.handlers, config.outbox_interval)
            app.ctx.worker.start()

    @app.listener("before_server_stop")
    async def stop_worker(app: Sanic, _loop) -> None:
        if app.ctx.worker is not None:
            app.ctx.worker.stop()

    @app.middleware("response")
    async def security_headers(request: Request, reply: response.HTTPResponse) -> None:
        if request.path.startswith("/documentos/"):
            return
        # A page that sets its own policy (the demo page) or cache keeps it.
        for name, value in SECURITY_HEADERS.items():
            if name not in reply.headers:
                reply.headers[name] = value
        if not request.path.startswith(f"{routes.PREFIX}/static/") and "Cache-Control" not in reply.headers:
            reply.headers["Cache-Control"] = "no-store"

    @app.exception(Exception)
    async def error(request: Request, exception: Exception) -> response.HTTPResponse:
        status = exception.status_code if isinstance(exception, SanicException) else 500
        if status >= 500:
            log.error("%s %s failed", request.method, request.path, exc_info=exception)
        return error_page(status)

    return app
