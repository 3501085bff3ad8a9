"""A whitespace tokenizer that writes a normalized lemma for each token."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

from nlu_components.normalizer import normalize_word


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class NormalizingTokenizer(WhitespaceTokenizer):
    """Rasa's WhitespaceTokenizer, plus a pt-BR chat normalization as lemma.

    Token text and offsets stay exactly as typed (entities keep working);
    ``token.lemma`` carries the normalized form that CountVectorsFeaturizer
    reads by default (``use_lemma: true``). Very long messages are cut to
    ``max_tokens`` tokens so a pasted e-mail cannot slow the model down.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**WhitespaceTokenizer.get_default_config(), "max_tokens": 120}

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        tokens = super().tokenize(message, attribute)[: self._config["max_tokens"]]
        for token in tokens:
            token.lemma = normalize_word(token.text)
        return tokens
