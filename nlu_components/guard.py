"""Last NLU step: messages NLU should not interpret become ``out_of_scope``."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu_components.input_checks import InputProblem, find_problem

OUT_OF_SCOPE = "out_of_scope"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class InputGuard(GraphComponent, IntentClassifier):
    """Overrides the prediction for empty, huge, symbol-only or foreign text.

    Put it after FallbackClassifier. The answer for each case is chosen by
    ``action_not_understood`` with the same ``find_problem`` check, so the model
    never answers an FAQ because a 10,000-character paste happened to contain
    its keywords.
    """

    @classmethod
    def required_components(cls) -> List[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # A thumbs-up or a waving hand alone still means yes, thanks or bye.
        return {"symbol_intents": ["affirm", "deny", "thanks", "greet", "goodbye"]}

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._symbol_intents = set(config["symbol_intents"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "InputGuard":
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            problem = find_problem(message.get(TEXT))
            if problem is None:
                continue
            predicted = (message.get(INTENT) or {}).get("name")
            if problem is InputProblem.NO_WORDS and predicted in self._symbol_intents:
                continue
            forced = {"name": OUT_OF_SCOPE, "confidence": 1.0}
            message.set(INTENT, forced, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [forced], add_to_output=True)
        return messages
