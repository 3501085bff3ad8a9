"""Rasa's REST channel, with the checks an open webhook needs.

- ``sender`` is required and must look like a random conversation id: over
  REST it is the conversation's only handle, and an identification belongs to
  the conversation, so Rasa's fallback of one shared "default" conversation for
  every client without a sender is refused.
- ``input_channel`` always reads "rest", and the conversation ids of other
  channels (``web:``, ``wa:``, ``tw:``; portal.chat_identity) are refused: a
  client must not claim to be WhatsApp or the web widget, nor read their
  conversations.
- ``message`` must be text (an empty one is fine: the assistant answers it).
  ``metadata`` and ``?stream=true`` are not supported: nothing a client says
  about itself is kept.
- REST cannot push: what an agent wrote to the customer since their previous
  message (bot events marked ``handoff`` in the conversation) comes first in
  the answer to their next message. While an agent owns the conversation the
  bot itself stays silent, so that is all the answer holds.
"""

from __future__ import annotations

import asyncio
import re
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

import structlog
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.rendering import stored_tracker
from portal.chat_identity import is_reserved
from portal.db import session_scope
from portal.tickets import has_ticket

_SENDER = re.compile(r"^[A-Za-z0-9_.:\-]{8,128}$")
structlogger = structlog.get_logger()


def agent_messages_since_last_user_turn(events: List[Any], recipient: Text) -> List[Dict[Text, Any]]:
    """The agent's messages (and the hand-back notice) after the customer's last message."""
    pending: List[Dict[Text, Any]] = []
    for event in reversed(events):
        kind = getattr(event, "type_name", None)
        if kind == "user":
            break
        if kind == "bot" and (getattr(event, "metadata", None) or {}).get("handoff"):
            pending.append({"recipient_id": recipient, "text": event.text})
    return pending[::-1]


def _opened_a_ticket(sender_id: Text) -> bool:
    try:
        with session_scope() as session:
            return has_ticket(session, sender_id)
    except Exception:  # noqa: BLE001 - the portal database is down: read the tracker instead
        structlogger.exception("rest.ticket_lookup.failure")
        return True


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        body = req.json if isinstance(req.json, dict) else {}
        sender = body.get("sender")
        if not isinstance(sender, str) or not _SENDER.match(sender):
            raise InvalidUsage(
                "'sender' is required: 8 to 128 letters, digits or _.:- "
                "(use a random id per conversation)"
            )
        if is_reserved(sender):
            raise InvalidUsage("this 'sender' belongs to another channel (web:, wa:, tw:)")
        message = body.get("message", "")
        if message is not None and not isinstance(message, str):
            raise InvalidUsage("'message' must be text")
        return sender

    def _extract_input_channel(self, req: Request) -> Text:
        return self.name()

    async def _pending(self, request: Request, sender_id: Text) -> List[Dict[Text, Any]]:
        # Reading the tracker costs about 5 ms a turn: only conversations that
        # opened a ticket can hold agents' messages (an indexed look-up).
        if not await asyncio.get_running_loop().run_in_executor(None, _opened_a_ticket, sender_id):
            return []
        tracker = await stored_tracker(request.app, sender_id)
        return agent_messages_since_last_user_turn(list(tracker.events), sender_id) if tracker else []

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("custom_webhook_RestInput", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            pending = await self._pending(request, sender_id)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender_id,
                                                 input_channel=self.name()))
            except CancelledError:
                structlogger.error("rest.message.received.timeout")
            except Exception:  # noqa: BLE001 - logged; the client gets what was collected
                structlogger.exception("rest.message.received.failure")
            return response.json(pending + collector.messages)

        return webhook
