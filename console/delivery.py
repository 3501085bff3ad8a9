"""The console's outbox worker: agents' replies and hand-backs to the customer's
conversation in Rasa, and (when configured) ticket copies to Zendesk.

Rasa has no idempotency key, so every bot event carries the outbox key in
``metadata.delivery``; a retry (the previous attempt may have reached Rasa
before its answer was lost) first looks for that key in the conversation.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from datetime import timedelta
from typing import Mapping

from portal import helpdesk, outbox, tickets
from portal.db import session_scope
from portal.mail import Mailer
from portal.outbox import Delivery, Handler, PermanentError
from portal.settings import settings
from portal.tickets import CHAT_MESSAGE, CHAT_RESUME, ZENDESK_TICKET

from console.config import ConsoleSettings
from console.rasa_api import RasaClient, RasaError

log = logging.getLogger(__name__)


def _already_in_conversation(client: RasaClient, sender_id: str, key: str) -> bool:
    return any(event.get("event") == "bot" and (event.get("metadata") or {}).get("delivery") == key
               for event in client.tracker_events(sender_id))


def _append_once(client: RasaClient, delivery: Delivery, events: list[dict]) -> str:
    sender_id = delivery.payload["sender_id"]
    if delivery.attempts > 1 and _already_in_conversation(client, sender_id, delivery.key):
        return "already in the conversation"
    try:
        client.append(sender_id, events)
    except RasaError as error:
        if error.status == 400:  # Rasa refused the events themselves: retrying cannot help
            raise PermanentError(str(error)) from error
        raise
    return "appended"


def _bot(delivery: Delivery) -> dict:
    return {"event": "bot", "text": delivery.payload["text"],
            "metadata": {"delivery": delivery.key, "handoff": True}}


def chat_handlers(client: RasaClient) -> dict[str, Handler]:
    return {
        CHAT_MESSAGE: lambda delivery: _append_once(client, delivery, [_bot(delivery)]),
        # The pause came from an action, so no action_listen followed it: without
        # one the bot would take the customer's next message as already handled.
        CHAT_RESUME: lambda delivery: _append_once(client, delivery, [
            {"event": "resume"}, {"event": "action", "name": "action_listen"}, _bot(delivery)]),
    }


def handlers(config: ConsoleSettings) -> dict[str, Handler]:
    """Every kind this console delivers; Zendesk only when ZENDESK_URL is set."""
    chosen = chat_handlers(RasaClient(config.rasa_url, config.rasa_token))
    portal_settings = settings()
    chosen[tickets.EMAIL] = tickets.mail_handler(Mailer(portal_settings))
    if portal_settings.helpdesk_enabled:
        chosen[ZENDESK_TICKET] = helpdesk.handler(portal_settings, None)
    return chosen


async def deliver_now(chosen: Mapping[str, Handler], conversation: str) -> None:
    """One delivery round for this conversation right after an action, so a
    reply goes out at once when Rasa is up (other items wait for the worker,
    so the agent does not); whatever fails stays in the outbox for the worker."""
    deliver = functools.partial(outbox.deliver_due, None, chosen, conversation=conversation)
    try:
        await asyncio.get_running_loop().run_in_executor(None, deliver)
    except Exception:  # noqa: BLE001 - the action is stored; the worker tries again
        log.exception("immediate outbox delivery failed")


def release_unanswered_handoffs() -> None:
    """Conversations no agent took in time go back to the bot (portal.tickets)."""
    wait = timedelta(minutes=settings().handoff_max_wait_minutes)
    with session_scope() as session:
        released = tickets.release_unanswered_handoffs(session, wait)
    if released:
        log.info("%s conversation(s) handed back to the bot: no agent took them in time", released)


class Worker:
    """``outbox.run_forever`` in a daemon thread, from server start to stop;
    each round first releases the handoffs nobody took."""

    def __init__(self, chosen: Mapping[str, Handler], interval: float) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=outbox.run_forever, name="outbox-worker", daemon=True,
                                        args=(None, chosen, interval, self._stop, release_unanswered_handoffs))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)
