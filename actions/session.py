"""Session start: applies the configured links to the link slots, starts
identified when the channel verified the user (portal.chat_identity: a portal
login on the website, a WhatsApp number linked by an earlier code), and keeps
a conversation that a person has taken over paused (a new session would
otherwise let the bot talk over the agent)."""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from portal.chat_identity import verified_user
from portal.db import session_scope
from portal.tickets import live_ticket

logger = logging.getLogger(__name__)


def link_overrides(domain: Dict[Text, Any]) -> Dict[Text, Text]:
    """``LINK_*`` environment values for the domain's ``link_*`` slots.

    The default of each link is the slot's ``initial_value`` in domain.yml,
    so answers keep a working link even if this action cannot run.
    """
    overrides = {}
    for name in domain.get("slots", {}):
        if name.startswith("link_"):
            value = os.environ.get(name.upper(), "").strip()
            if value.startswith(("https://", "http://")):
                overrides[name] = value
    return overrides


class ActionSessionStart(Action):
    """Rasa's session start, plus the links configured for this deployment."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        events += [SlotSet(name, url) for name, url in link_overrides(domain).items()]
        user_id, handed_over = _conversation_state(tracker.sender_id)
        if user_id is not None:
            events += [SlotSet("authenticated", True), SlotSet("auth_user_id", float(user_id))]
        if handed_over:
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events


def _conversation_state(sender_id: str) -> tuple[int | None, bool]:
    """The user the channel verified for this conversation (a portal login on
    the website, a linked WhatsApp number), and whether an agent has it."""
    try:
        with session_scope() as session:
            return verified_user(session, sender_id), live_ticket(session, sender_id) is not None
    except Exception:  # noqa: BLE001 - the portal database is down: the bot still answers
        logger.exception("could not read the state of conversation %s", sender_id)
        return None, False
