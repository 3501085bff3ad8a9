"""Rendering of the console's pages: one Jinja2 environment, autoescaped
everywhere (customer text is never trusted), and the pt-BR formatting helpers
the templates use."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sanic import response

from portal.ids import format_cnpj, mask_cpf
from portal.models import AgentRole, utcnow
from portal.settings import settings
from portal.tickets import CHANNEL_LABELS

TEMPLATES = Path(__file__).resolve().parent / "templates"

CHANNELS = CHANNEL_LABELS
ROLES = {AgentRole.AGENTE: "Agente", AgentRole.SUPERVISOR: "Supervisor"}
ERRORS = {
    400: ("Pedido inválido", "Confira os dados enviados e tente de novo."),
    403: ("Acesso negado", "Você não tem permissão para fazer isso."),
    404: ("Página não encontrada", "Confira o endereço ou volte para a fila."),
    405: ("Pedido inválido", "Esta página não aceita este tipo de pedido."),
    413: ("Texto longo demais", "Encurte o texto e tente de novo."),
    500: ("Algo deu errado", "Tente de novo em instantes."),
}


def ago(at: datetime, now: datetime | None = None) -> str:
    """"há 5 min", "há 3 h", "há 2 dias" (``at`` is naive UTC)."""
    minutes = int(((now or utcnow()) - at).total_seconds() // 60)
    if minutes < 1:
        return "agora"
    if minutes < 60:
        return f"há {minutes} min"
    if minutes < 24 * 60:
        return f"há {minutes // 60} h"
    days = minutes // (24 * 60)
    return f"há {days} dia" if days == 1 else f"há {days} dias"


def local_time(at: datetime | None) -> str:
    """A naive UTC moment as the team reads it: "04/12/2026 14:30"."""
    if at is None:
        return ""
    zone = ZoneInfo(settings().support_timezone)
    return f"{at.replace(tzinfo=timezone.utc).astimezone(zone):%d/%m/%Y %H:%M}"


def percent(share: float) -> str:
    return f"{share * 100:.1f}%".replace(".", ",")


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_env.filters.update(ago=ago, local_time=local_time, percent=percent, cnpj=format_cnpj, mask_cpf=mask_cpf,
                    channel=lambda name: CHANNELS.get(name, name), role=lambda role: ROLES[role])


def render(template: str, **context) -> str:
    return _env.get_template(template).render(**context)


def page(template: str, status: int = 200, **context) -> response.HTTPResponse:
    context.setdefault("viewer", None)
    context.setdefault("section", None)
    return response.html(render(template, **context), status=status)


def error_page(status: int, text: str | None = None, viewer=None) -> response.HTTPResponse:
    title, default = ERRORS.get(status, ERRORS[500])
    return page("error.html", status=status, title=title, text=text or default, viewer=viewer)
