"""Copies of chat tickets in Zendesk, sent through the outbox (off by default).

Only when ``ZENDESK_URL`` is set does the worker register ``handler`` for
``ZENDESK_TICKET`` items. The portal stays the source of truth; Zendesk gets a
readable copy whose ``external_id`` is our protocol.

A retry after a timeout must not open a second ticket, since Zendesk may have
created the first one before the answer was lost: every request carries the
outbox key as Zendesk's ``Idempotency-Key``, and since Zendesk forgets those
keys after a couple of hours while the outbox retries for longer, a retry
first looks the ticket up by its ``external_id``.
"""

from __future__ import annotations

from typing import Callable

import requests

from portal.db import session_scope
from portal.ids import format_cnpj
from portal.models import MessageKind, Ticket
from portal.outbox import Delivery, PermanentError
from portal.settings import Settings

ZENDESK_TICKET = "zendesk_ticket"

# Who said each transcript line; other kinds (internal notes) never leave the portal.
SPEAKERS = {MessageKind.CLIENTE: "Cliente", MessageKind.ASSISTENTE: "Assistente"}


class HelpdeskUnavailable(Exception):
    """Zendesk is down, slow or rate limiting: the outbox tries again later."""


class ZendeskClient:
    def __init__(self, base_url: str, email: str, api_token: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        # Zendesk's API token authentication: "{email}/token" as the user name.
        self.http.auth = (f"{email}/token", api_token)

    def _call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            response = self.http.request(method, f"{self.base_url}{path}", timeout=self.timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as error:
            raise HelpdeskUnavailable(f"no answer from Zendesk: {error}") from error
        if response.status_code in (200, 201):
            return response
        detail = f"Zendesk answered {response.status_code}: {response.text[:200]}"
        if response.status_code == 429 or response.status_code >= 500:
            raise HelpdeskUnavailable(detail)
        raise PermanentError(detail)

    def find_ticket(self, external_id: str) -> str | None:
        """The id of the ticket with this ``external_id``, if Zendesk has one."""
        found = self._call("GET", "/api/v2/tickets.json", params={"external_id": external_id})
        tickets = found.json().get("tickets") or []
        return str(tickets[0]["id"]) if tickets else None

    def create_ticket(self, ticket_payload: dict, idempotency_key: str) -> str:
        """Create the ticket and return its Zendesk id.

        Raises HelpdeskUnavailable when trying again later can succeed (429,
        5xx, no answer) and PermanentError when Zendesk rejected the request.
        """
        response = self._call("POST", "/api/v2/tickets.json", json={"ticket": ticket_payload},
                              headers={"Idempotency-Key": idempotency_key})
        return str(response.json()["ticket"]["id"])


def ticket_payload(ticket: Ticket) -> dict:
    """The Zendesk ticket: our protocol, the customer as requester, and a body an
    agent can act on without opening the console (description, CNPJ, whether
    the identity was verified, the chat transcript)."""
    verified = "sim" if ticket.user_id is not None else "não (dados informados no chat)"
    body = [
        ticket.description,
        "",
        f"CNPJ: {format_cnpj(ticket.contact_cnpj)} | Identidade verificada: {verified}",
        f"Protocolo: {ticket.protocol} | Canal: {ticket.channel}",
    ]
    transcript = [f"{SPEAKERS[m.kind]}: {m.body}"
                  for m in ticket.messages if m.in_transcript and m.kind in SPEAKERS]
    if transcript:
        body += ["", "Conversa com o assistente:", *transcript]
    return {
        "subject": f"[{ticket.protocol}] {ticket.category.label} - {ticket.contact_name}",
        "comment": {"body": "\n".join(body)},
        "requester": {"name": ticket.contact_name, "email": ticket.contact_email},
        "external_id": ticket.protocol,
        "tags": ["my-scansource", f"categoria-{ticket.category.value}", f"canal-{ticket.channel}"],
    }


def handler(settings: Settings, url: str | None) -> Callable[[Delivery], str]:
    """The outbox handler for ``ZENDESK_TICKET`` items (payload ``{"ticket_id": id}``).

    Every attempt must send the same body, since Zendesk refuses a reused
    Idempotency-Key with a different one; it does, because the description
    and the transcript lines (``in_transcript``) are written once, when the
    ticket opens. The database session is closed before the request goes out.
    """
    if not settings.helpdesk_enabled:
        raise ValueError("Zendesk is off: ZENDESK_URL is not set")
    client = ZendeskClient(settings.zendesk_url, settings.zendesk_email,
                           settings.zendesk_token, settings.zendesk_timeout)

    def deliver(delivery: Delivery) -> str:
        with session_scope(url) as session:
            ticket = session.get(Ticket, delivery.payload["ticket_id"])
            if ticket is None:
                raise PermanentError(f"ticket {delivery.payload['ticket_id']} does not exist")
            payload = ticket_payload(ticket)
        if delivery.attempts > 1:  # an earlier attempt may have created it
            existing = client.find_ticket(payload["external_id"])
            if existing:
                return existing
        return client.create_ticket(payload, idempotency_key=delivery.key)

    return deliver
