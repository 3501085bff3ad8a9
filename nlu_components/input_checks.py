"""Checks on raw user text that decide whether NLU should even try.

Pure Python, shared by the ``InputGuard`` NLU component (which forces the
``out_of_scope`` intent) and by ``action_not_understood`` (which picks the
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
    CODE = "code"
    FOREIGN = "foreign"


_HTML_TAG = re.compile(r"</?[a-zA-Z][\w-]*(?:\s[^<>]*)?/?>")
_SQL = re.compile(
    r"\b(?:select\b.+\bfrom|insert\s+into|update\b.+\bset|delete\s+from|drop\s+(?:table|database)"
    r"|union\s+(?:all\s+)?select|alter\s+table|truncate\s+table)\b"
    r"|;\s*--|'\s*or\s+'?1'?\s*=\s*'?1",
    re.IGNORECASE | re.DOTALL,
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)

# Words that give a message away as English or Spanish. Only words that a
# Portuguese writer would not use: "como", "que", "pedido", "por favor",
# "no", "me" and friends are Portuguese too and must never count here.
_ENGLISH = {
    "the", "is", "are", "my", "your", "where", "what", "how", "please", "can",
    "could", "would", "you", "i", "i'm", "want", "need", "with", "this", "that",
    "it", "and", "order", "invoice", "help", "hello", "thanks", "thank",
    "get", "have", "has", "does", "not", "password", "who", "why", "when",
    "which", "weather", "today", "there", "here", "of", "in", "on", "be",
    "was", "will", "an", "speak", "english", "yes", "sorry", "forgot", "login",
    "download", "payment", "status", "bill", "hi", "don't", "can't", "about",
    "tell", "joke", "know", "like", "from", "just", "good", "morning", "night",
}
_SPANISH = {
    "el", "los", "las", "es", "quiero", "puedo", "donde", "mi", "mis", "usted",
    "hola", "gracias", "factura", "facturas", "contrasena", "necesito", "ayuda",
    "tengo", "y", "del", "cual", "tambien", "hablas", "espanol", "buenos",
    "senor", "pero", "muy", "hoy", "soy", "hay", "manana", "estoy",
    "usuario", "quisiera", "puede", "puedes", "olvide", "mio",
    "ustedes", "cuando", "porque", "nuestra", "nuestro", "llega", "mejor",
}
# Loanwords Brazilians type in Portuguese sentences ("o status do pedido",
# "fazer o download", "meu login", "o usuario"): never foreign evidence.
_SHARED = {"status", "login", "download", "usuario", "porque", "cuando", "hi"}
_ENGLISH -= _SHARED
_SPANISH -= _SHARED
# Markers that a message is Portuguese, whatever else it contains.
_PORTUGUESE = {
    "nao", "voce", "vc", "meu", "minha", "eu", "uma", "pra", "obrigado",
    "obrigada", "senha", "nota", "notas", "boleto", "boletos", "cadastro",
    "quero", "preciso", "consigo", "estou", "oi", "ola", "bom", "boa", "isso",
    "sim", "pedido", "pedidos", "qual", "quais", "onde", "tudo", "voces", "nf",
    "revenda", "plataforma", "acesso", "tem", "ja", "como", "esta", "voce",
    "ajuda", "obg", "vcs", "pq", "tb", "fazer", "sou", "ate", "tchau", "valeu",
}


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(strip_accents(text))]


def looks_foreign(text: str) -> bool:
    """True when the text reads as English or Spanish rather than Portuguese.

    Conservative on purpose: at least two words that only English (or only
    Spanish) uses, making up at least half of the message, and fewer
    Portuguese markers than foreign words.
    """
    words = _words(text)
    if len(words) < 2:
        return False
    portuguese = sum(w in _PORTUGUESE for w in words)
    for vocabulary in (_ENGLISH, _SPANISH):
        foreign = sum(w in vocabulary for w in words)
        if foreign >= 2 and foreign * 2 >= len(words) and foreign > portuguese:
            return True
    return False


def looks_like_code(text: str) -> bool:
    """HTML tags or SQL statements: nothing a question in words needs."""
    return bool(_HTML_TAG.search(text) or _SQL.search(text))


def find_problem(text: str | None) -> InputProblem | None:
    """The reason NLU should not interpret ``text``, or None when it can."""
    if text is None or not text.strip():
        return InputProblem.EMPTY
    if len(text) > MAX_MESSAGE_CHARS:
        return InputProblem.TOO_LONG
    if not any(ch.isalnum() for ch in text):
        return InputProblem.NO_WORDS
    if looks_like_code(text):
        return InputProblem.CODE
    if looks_foreign(text):
        return InputProblem.FOREIGN
    return None
