"""What the assistant says when it did not understand."""

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
FAILED_INTENTS = {"out_of_scope", "nlu_fallback"}

PROBLEM_RESPONSES = {
    InputProblem.EMPTY: "utter_input_empty",
    InputProblem.TOO_LONG: "utter_input_too_long",
    InputProblem.NO_WORDS: "utter_input_no_words",
    InputProblem.MARKUP: "utter_input_markup",
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
    """How many of the latest user turns in a row were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        if intent not in FAILED_INTENTS:
            break
        count += 1
    return count


class ActionAskAffirmation(Action):
    """First stage of the two-stage fallback.

    When one or two intents are plausible, offer them as buttons (plus
    "Nenhuma dessas", which Rasa reads as a denial and asks to rephrase).
    When nothing is plausible, ask to rephrase right away.
    """

    def name(self) -> Text:
        return "action_default_ask_affirmation"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        offered = suggestions(ranking)
        if not offered:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        buttons = [
            {"title": INTENT_LABELS[name], "payload": f"/{name}"} for name in offered
        ]
        buttons.append({"title": "Nenhuma dessas", "payload": "/out_of_scope"})
        dispatcher.utter_message(response="utter_ask_affirmation", buttons=buttons)
        return []


class ActionOutOfScope(Action):
    """Answers messages outside the assistant's scope or unreadable ones.

    Says why when the message itself is the problem (empty, too long, only
    symbols, another language); otherwise asks to rephrase. On the second
    failure in a row, offers a ticket and the support channel instead.
    """

    def name(self) -> Text:
        return "action_out_of_scope"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[Text, Any],
    ) -> List[EventType]:
        if consecutive_failures(tracker) >= 2:
            dispatcher.utter_message(response="utter_default")
            return []
        problem = find_problem(tracker.latest_message.get("text"))
        dispatcher.utter_message(
            response=PROBLEM_RESPONSES.get(problem, "utter_out_of_scope")
        )
        return []
