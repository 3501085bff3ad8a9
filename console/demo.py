"""The demo portal page (development only): what a reseller sees on the My
ScanSource portal, with the chat widget embedded, in two modes.

    GET  /              the page; with the demo off, a redirect to /atendimento/
    POST /demo/entrar   "Portal com login": signs a 10-minute chat token for
                        one of the listed demo users, then back to /
    POST /demo/sair     "Visitante (anônimo)": forgets that token, then back to /

The page's server signs the token as the real portal would (HS256 with
CHAT_JWT_SECRET, aud "my-scansource-chat", the user's cpf, cnpj and role;
channels/socket.py verifies it). The browser only picks a user id from the
list: no claim comes from it. The token travels in an HttpOnly cookie of the
page and into the widget's ``data-token``; the CPF is never on screen. Both
POSTs need the page's CSRF token (double submit, as the console's login).

Off (404, and / goes to the console) with APP_ENV=production or
DEMO_PORTAL=false. RASA_PUBLIC_URL is where the visitor's browser reaches
the Rasa server (empty: RASA_URL, else http://127.0.0.1:5005).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from sanic import Sanic, response
from sanic.request import Request
from sqlalchemy import select

from console.pages import error_page, render
from portal.db import session_scope
from portal.models import Reseller, Role, User
from portal.settings import settings

TOKEN_COOKIE = "mss_demo_chat"
CSRF_COOKIE = "mss_demo_csrf"
TOKEN_SECONDS = 10 * 60
AUDIENCE = "my-scansource-chat"
USERS_PER_ROLE = 2
_FALSE = {"0", "false", "no"}


@dataclass(frozen=True)
class DemoSettings:
    enabled: bool
    rasa_public_url: str


def demo_settings() -> DemoSettings:
    env = os.environ.get
    production = (env("APP_ENV") or "development").strip() == "production"
    enabled = not production and (env("DEMO_PORTAL") or "true").strip().lower() not in _FALSE
    public = (env("RASA_PUBLIC_URL") or env("RASA_URL") or "http://127.0.0.1:5005").strip().rstrip("/")
    return DemoSettings(enabled=enabled, rasa_public_url=public)


@dataclass(frozen=True)
class DemoUser:
    id: int
    name: str
    role: str
    razao_social: str
    cpf: str
    cnpj: str

    @property
    def label(self) -> str:
        return f"{self.name} · {self.role} · {self.razao_social}"


def demo_users() -> list[DemoUser]:
    """A few active demo users, of each profile (the same list every time)."""
    chosen: list[DemoUser] = []
    with session_scope() as session:
        for role in Role:
            rows = session.execute(
                select(User, Reseller).join(Reseller, Reseller.id == User.reseller_id)
                .where(User.active.is_(True), User.role == role).order_by(User.id).limit(USERS_PER_ROLE))
            chosen += [DemoUser(user.id, user.name, user.role.value, reseller.razao_social, user.cpf,
                                reseller.cnpj) for user, reseller in rows]
    return sorted(chosen, key=lambda user: user.id)


def chat_token(user: DemoUser, secret: str, now: float | None = None) -> str:
    """The portal's chat token for a logged-in user."""
    issued = int(now if now is not None else time.time())
    return jwt.encode({"aud": AUDIENCE, "iat": issued, "exp": issued + TOKEN_SECONDS, "cpf": user.cpf,
                       "cnpj": user.cnpj, "role": user.role}, secret, algorithm="HS256")


def _logged_in(token: str | None, users: list[DemoUser]) -> DemoUser | None:
    """The listed user a still-valid demo token was signed for."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, settings().chat_jwt_secret, algorithms=["HS256"], audience=AUDIENCE)
    except jwt.PyJWTError:
        return None
    return next((u for u in users if u.cpf == claims.get("cpf") and u.cnpj == claims.get("cnpj")), None)


def content_security_policy(rasa_url: str) -> str:
    """The console's policy, plus the Rasa server for the widget (http and ws)."""
    parts = urlsplit(rasa_url)
    sources = ["'self'"]
    if parts.scheme in ("http", "https") and parts.netloc:
        socket = "wss" if parts.scheme == "https" else "ws"
        sources += [f"{parts.scheme}://{parts.netloc}", f"{socket}://{parts.netloc}"]
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
            f"connect-src {' '.join(sources)}; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def _cookie(request: Request, reply: response.HTTPResponse, name: str, value: str, max_age: int) -> None:
    reply.cookies[name] = value
    cookie = reply.cookies[name]
    cookie["path"] = "/"
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["max-age"] = max_age
    if request.app.ctx.config.secure_cookie:
        cookie["secure"] = True


def _csrf_ok(request: Request) -> bool:
    expected = request.cookies.get(CSRF_COOKIE) or ""
    submitted = request.form.get("csrf") or ""
    return bool(expected) and secrets.compare_digest(expected.encode(), submitted.encode())


def register(app: Sanic) -> None:
    config = demo_settings()
    app.ctx.demo = config

    @app.get("/")
    async def home(request: Request) -> response.HTTPResponse:
        if not config.enabled:
            return response.redirect("/atendimento/")
        users = demo_users()
        token = request.cookies.get(TOKEN_COOKIE)
        user = _logged_in(token, users)
        csrf = request.cookies.get(CSRF_COOKIE) or ""
        if not re.fullmatch(r"[A-Za-z0-9_\-]{43}", csrf):
            csrf = secrets.token_urlsafe(32)
        reply = response.html(render("demo.html", users=users, user=user, token=token if user else "",
                                     csrf=csrf, rasa_url=config.rasa_public_url,
                                     minutes=TOKEN_SECONDS // 60))
        reply.headers["Content-Security-Policy"] = content_security_policy(config.rasa_public_url)
        _cookie(request, reply, CSRF_COOKIE, csrf, 3600)
        if token and user is None:  # expired or not ours: back to the visitor mode
            _cookie(request, reply, TOKEN_COOKIE, "", 0)
        return reply

    @app.post("/demo/entrar")
    async def log_in(request: Request) -> response.HTTPResponse:
        if not config.enabled:
            return error_page(404)
        if not _csrf_ok(request):
            return error_page(403, "O formulário expirou. Recarregue a página e tente de novo.")
        wanted = request.form.get("usuario") or ""
        user = next((u for u in demo_users() if wanted.isdigit() and u.id == int(wanted)), None)
        if user is None:
            return error_page(400, "Escolha um dos usuários da lista.")
        reply = response.redirect("/", status=303)
        _cookie(request, reply, TOKEN_COOKIE, chat_token(user, settings().chat_jwt_secret), TOKEN_SECONDS)
        return reply

    @app.post("/demo/sair")
    async def log_out(request: Request) -> response.HTTPResponse:
        if not config.enabled:
            return error_page(404)
        if not _csrf_ok(request):
            return error_page(403, "O formulário expirou. Recarregue a página e tente de novo.")
        reply = response.redirect("/", status=303)
        _cookie(request, reply, TOKEN_COOKIE, "", 0)
        return reply
