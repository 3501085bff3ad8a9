"""The custom actions, run as the action server runs them."""

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionNotUnderstood, suggestions
from actions.labels import INTENT_LABELS
from actions.session import ActionSessionStart


def tracker(text="", intent="out_of_scope", ranking=None, previous_intents=()):
    events = [
        {"event": "session_started"} if name == "SESSION" else
        {"event": "user", "text": "x", "parse_data": {"intent": {"name": name}}}
        for name in previous_intents
    ]
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "intent_ranking": ranking or [],
    }
    events.append({"event": "user", "text": text, "parse_data": latest})
    return Tracker("user-1", {}, latest, events, False, None, {}, "action_listen")


def run(action, tr):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tr, {}))
    return dispatcher.messages, events


def test_affirmation_offers_the_two_plausible_intents_and_none_of_these():
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "faq_add_user", "confidence": 0.38},
        {"name": "faq_edit_user", "confidence": 0.35},
        {"name": "faq_profile_types", "confidence": 0.2},
    ]
    messages, _ = run(ActionNotUnderstood(), tracker("mexer em usuario", "nlu_fallback", ranking))
    assert messages[0]["response"] == "utter_ask_affirmation"
    assert messages[0]["buttons"] == [
        {"title": "Adicionar usuário", "payload": "/faq_add_user"},
        {"title": "Editar usuário", "payload": "/faq_edit_user"},
        {"title": "Nenhuma dessas", "payload": "/out_of_scope"},
    ]


def test_affirmation_never_suggests_chitchat_or_implausible_intents():
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.4},
        {"name": "greet", "confidence": 0.3},
        {"name": "out_of_scope", "confidence": 0.25},
        {"name": "faq_quotes", "confidence": 0.05},
    ]
    assert suggestions(ranking) == []
    messages, _ = run(ActionNotUnderstood(), tracker("hmm", "nlu_fallback", ranking))
    assert len(messages) == 1
    assert messages[0]["response"] == "utter_ask_rephrase"
    assert messages[0]["buttons"] == []


@pytest.mark.parametrize(
    "text, response",
    [
        ("", "utter_input_empty"),
        ("   ", "utter_input_empty"),
        ("x" * 10_000, "utter_input_too_long"),
        ("🤔🤔", "utter_input_no_words"),
        ("where is my order please", "utter_input_foreign"),
        ("<script>alert(1)</script>", "utter_input_code"),
        ("'; DROP TABLE pedidos; --", "utter_input_code"),
        ("qual a previsão do tempo?", "utter_out_of_scope"),
    ],
)
def test_out_of_scope_says_why(text, response):
    messages, events = run(ActionNotUnderstood(), tracker(text))
    assert [m["response"] for m in messages] == [response]
    assert events == []


def test_second_failure_in_a_row_offers_a_ticket():
    tr = tracker("e o jogo ontem?", previous_intents=["greet", "nlu_fallback"])
    messages, _ = run(ActionNotUnderstood(), tr)
    assert [m["response"] for m in messages] == ["utter_default"]


def test_a_low_confidence_turn_after_an_out_of_scope_one_is_the_second_failure():
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "faq_add_user", "confidence": 0.38}]
    tr = tracker("hmm usuario", "nlu_fallback", ranking, previous_intents=["out_of_scope"])
    messages, _ = run(ActionNotUnderstood(), tr)
    assert [m["response"] for m in messages] == ["utter_default"]
    assert messages[0]["buttons"] == []  # the response's own buttons come from the domain


def test_a_failure_in_an_earlier_session_does_not_count():
    tr = tracker("e o jogo ontem?", previous_intents=["out_of_scope", "SESSION"])
    messages, _ = run(ActionNotUnderstood(), tr)
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


def test_a_failure_after_an_understood_turn_is_the_first_failure():
    tr = tracker("e o jogo ontem?", previous_intents=["out_of_scope", "faq_quotes"])
    messages, _ = run(ActionNotUnderstood(), tr)
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


DOMAIN = yaml.safe_load((Path(__file__).parent.parent / "domain.yml").read_text())


def run_with_domain(action, tr, domain):
    dispatcher = CollectingDispatcher()
    return asyncio.run(action.run(dispatcher, tr, domain))


def test_session_start_applies_configured_links_only(monkeypatch):
    for name in DOMAIN["slots"]:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("LINK_CHAMADO", "https://example.test/chamado")
    monkeypatch.setenv("LINK_COTACAO", "javascript:alert(1)")  # not a web link: ignored
    events = run_with_domain(ActionSessionStart(), tracker("oi", "greet"), DOMAIN)
    assert events[0]["event"] == "session_started"
    assert (events[-1]["event"], events[-1]["name"]) == ("action", "action_listen")
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots == {"link_chamado": "https://example.test/chamado"}


def test_every_link_slot_has_a_web_default():
    links = {k: v for k, v in DOMAIN["slots"].items() if k.startswith("link_")}
    assert links
    assert all(v["initial_value"].startswith("https://") for v in links.values())


def test_every_label_is_short_enough_for_a_whatsapp_button():
    # WhatsApp reply buttons take at most 20 characters.
    too_long = {k: v for k, v in INTENT_LABELS.items() if len(v) > 20}
    assert not too_long
