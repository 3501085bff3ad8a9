"""Checks on raw user text that decide whether NLU should even try.

Pure Python, shared by the ``InputGuard`` NLU component (which forces the
``out_of_scope`` intent) and by the action that answers it (which picks the
polite reply for the reason found here).
"""

from __future__ import annotations

import re
from enum import Enum

from nlu_components.normalizer import strip_accents

# A message longer than this is not read by NLU: people paste logs or e-mails,
# and a featurizer should not pay for 10,000 characters.
MAX_MESSAGE_CHARS = 1500


class InputProblem(str, Enum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"
    MARKUP = "markup"
    FOREIGN = "foreign"


_MARKUP = re.compile(r"</?[a-zA-Z][\w-]*(?:\s[^<>]*)?/?>")
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)

# Words that are common in English or Spanish and rare in Portuguese chat.
_ENGLISH = {
    "the", "is", "are", "my", "your", "where", "what", "how", "please", "can",
    "could", "would", "you", "i", "i'm", "im", "want", "need", "with", "this",
    "that", "it", "and", "for", "order", "invoice", "help", "hello", "hi",
    "thanks", "thank", "get", "have", "has", "does", "not", "password", "who",
    "why", "when", "which", "weather", "today", "there", "here", "of", "to",
    "in", "on", "be", "was", "will", "an", "speak", "english", "yes", "sorry",
}
_SPANISH = {
    "el", "los", "las", "es", "quiero", "puedo", "donde", "mi", "mis",
    "usted", "hola", "gracias", "factura", "contrasena", "necesito", "ayuda",
    "tengo", "y", "con", "del", "cual", "tambien", "hablas", "espanol",
    "buenos", "dias", "por", "favor", "senor", "pero", "muy", "hoy", "tiempo",
    "como", "estas", "esta", "una", "un", "que", "en", "de", "la", "lo",
    "soy", "hay", "mañana", "manana", "pedido",
}
# Words that only (or mostly) Portuguese writers use; any of them present
# means the message is Portuguese, whatever else it contains.
_PORTUGUESE = {
    "nao", "voce", "vc", "meu", "minha", "eu", "uma", "pra", "para", "obrigado",
    "obrigada", "senha", "nota", "boleto", "boletos", "cadastro", "quero",
    "preciso", "consigo", "estou", "to", "oi", "ola", "bom", "dia", "boa",
    "tarde", "noite", "ajuda", "fazer", "isso", "sim", "pedidos", "qual",
    "quais", "onde", "porque", "tudo", "bem", "voces", "nf", "cnpj", "cpf",
    "revenda", "plataforma", "acesso", "tem", "ter", "e", "o", "os", "as",
    "do", "da", "dos", "das", "no", "na", "com", "sou", "vai", "ja", "ai",
}
_SPANISH_ONLY = _SPANISH - _PORTUGUESE
_ENGLISH_ONLY = _ENGLISH - _PORTUGUESE - _SPANISH


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(strip_accents(text))]


def looks_foreign(text: str) -> bool:
    """True when the text reads as English or Spanish rather than Portuguese.

    Deliberately conservative: it needs at least two foreign-only words and
    no Portuguese marker, so Portuguese with an English loanword ("quero o
    invoice") is still Portuguese.
    """
    words = _words(text)
    if len(words) < 2:
        return False
    if any(w in _PORTUGUESE for w in words) and not _mostly(words, _ENGLISH_ONLY | _SPANISH_ONLY):
        return False
    english = sum(w in _ENGLISH_ONLY for w in words)
    spanish = sum(w in _SPANISH_ONLY for w in words)
    return max(english, spanish) >= 2 and max(english, spanish) * 2 >= len(words)


def _mostly(words: list[str], vocabulary: set[str]) -> bool:
    return sum(w in vocabulary for w in words) * 3 >= len(words) * 2


def find_problem(text: str | None) -> InputProblem | None:
    """The reason NLU should not interpret ``text``, or None when it can."""
    if text is None or not text.strip():
        return InputProblem.EMPTY
    if len(text) > MAX_MESSAGE_CHARS:
        return InputProblem.TOO_LONG
    if not any(ch.isalnum() for ch in text):
        return InputProblem.NO_WORDS
    if _MARKUP.search(text):
        return InputProblem.MARKUP
    if looks_foreign(text):
        return InputProblem.FOREIGN
    return None
