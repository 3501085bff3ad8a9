"""What the assistant says when it did not understand.

Two stages, whatever the kind of failure (low confidence or out of scope):
1. first failure: say why when the message itself is the problem (empty, too
   long, only symbols, HTML, another language); otherwise offer the one or two
   plausible questions as buttons, or ask to rephrase;
2. second failure in a row: offer a ticket and the post-sales channel.

Rasa's stock TwoStageFallbackAction is not used: it treats an out-of-scope
message as a denial and can take four failed turns before giving up.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.labels import INTENT_LABELS
from nlu_components.input_checks import InputProblem, find_problem

# Suggest an intent only if the model gave it at least this confidence.
MIN_SUGGESTION_CONFIDENCE = 0.12
MAX_SUGGESTIONS = 2
FALLBACK = "nlu_fallback"
FAILED_INTENTS = {"out_of_scope", FALLBACK}
NONE_OF_THESE = {"title": "Nenhuma dessas", "payload": "/out_of_scope"}

PROBLEM_RESPONSES = {
    InputProblem.EMPTY: "utter_input_empty",
    InputProblem.TOO_LONG: "utter_input_too_long",
    InputProblem.NO_WORDS: "utter_input_no_words",
    InputProblem.CODE: "utter_input_code",
    InputProblem.FOREIGN: "utter_input_foreign",
}


def suggestions(intent_ranking: List[Dict[Text, Any]]) -> List[Text]:
    """The intents worth offering as buttons, best first."""
    picked = [
        item["name"]
        for item in intent_ranking
        if item.get("name") in INTENT_LABELS
        and (item.get("confidence") or 0.0) >= MIN_SUGGESTION_CONFIDENCE
    ]
    return picked[:MAX_SUGGESTIONS]


def consecutive_failures(tracker: Tracker) -> int:
    """How many of the latest user turns in a row (this session) were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent not in FAILED_INTENTS:
            break
        count += 1
    return count


class ActionNotUnderstood(Action):
    """Answers low-confidence, out-of-scope and unreadable messages."""

    def name(self) -> Text:
        return "action_not_understood"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        if consecutive_failures(tracker) >= 2:
            dispatcher.utter_message(response="utter_default")
            return []
        message = tracker.latest_message
        problem = find_problem(message.get("text"))
        if problem is not None:
            dispatcher.utter_message(response=PROBLEM_RESPONSES[problem])
            return []
        if (message.get("intent") or {}).get("name") != FALLBACK:
            dispatcher.utter_message(response="utter_out_of_scope")
            return []
        offered = suggestions(message.get("intent_ranking") or [])
        if not offered:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons = [{"title": INTENT_LABELS[name], "payload": f"/{name}"} for name in offered]
        dispatcher.utter_message(
            response="utter_ask_affirmation", buttons=buttons + [NONE_OF_THESE]
        )
        return []
