"""Session start: applies the configured links to the link slots, and keeps a
conversation that a person has taken over paused (a new session would
otherwise let the bot talk over the agent)."""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

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
        if _handed_over(tracker.sender_id):
            events.append(ConversationPaused())
        events.append(ActionExecuted("action_listen"))
        return events


def _handed_over(sender_id: str) -> bool:
    try:
        with session_scope() as session:
            return live_ticket(session, sender_id) is not None
    except Exception:  # noqa: BLE001 - the portal database is down: the bot still answers
        logger.exception("could not check for a live handoff of %s", sender_id)
        return False
