"""Normalization of chat-style Brazilian Portuguese, for NLU features.

Pure Python (no Rasa imports), so it is cheap to test and reuse. The
tokenizer in ``nlu_components.tokenizer`` writes the result of
``normalize_word`` into each token's ``lemma``; the count featurizers read the
lemma, so "Vc", "você" and "voce" all count as the same word while the token
text and offsets stay as the user typed them.
"""

from __future__ import annotations

import re
import unicodedata

# Chat abbreviations and frequent misspellings, written without accents
# (the lookup happens after accents are stripped). Keep the values short and
# stable: they are features, not text shown to anyone.
ABBREVIATIONS: dict[str, str] = {
    # pronouns and function words
    "vc": "voce",
    "vcs": "voces",
    "voceis": "voces",
    "c": "voce",
    "ce": "voce",
    "oce": "voce",
    "pq": "porque",
    "pqe": "porque",
    "porq": "porque",
    "pk": "porque",
    "q": "que",
    "oq": "que",
    "qe": "que",
    "tb": "tambem",
    "tbm": "tambem",
    "tmb": "tambem",
    "qnd": "quando",
    "qdo": "quando",
    "qndo": "quando",
    "qto": "quanto",
    "qnt": "quanto",
    "pra": "para",
    "pro": "para",
    "p": "para",
    "prs": "para",
    "n": "nao",
    "naum": "nao",
    "nn": "nao",
    "ñ": "nao",
    "eh": "e",
    "ta": "esta",
    "tah": "esta",
    "to": "estou",
    "tou": "estou",
    "tao": "estao",
    "td": "tudo",
    "tds": "todos",
    "hj": "hoje",
    "cmg": "comigo",
    "ngm": "ninguem",
    "msm": "mesmo",
    "mt": "muito",
    "mto": "muito",
    "mts": "muitos",
    "dps": "depois",
    "agr": "agora",
    "aki": "aqui",
    "aq": "aqui",
    "cade": "cade",
    "kd": "cade",
    "kde": "cade",
    "onde": "onde",
    "ond": "onde",
    "num": "nao",
    "nada": "nada",
    # courtesy
    "obg": "obrigado",
    "obgd": "obrigado",
    "obgda": "obrigado",
    "obrigada": "obrigado",
    "brigado": "obrigado",
    "brigada": "obrigado",
    "vlw": "valeu",
    "valew": "valeu",
    "vlww": "valeu",
    "pfv": "porfavor",
    "pf": "porfavor",
    "pfvr": "porfavor",
    "plz": "porfavor",
    "pls": "porfavor",
    "blz": "beleza",
    "flw": "falou",
    "tchau": "tchau",
    "xau": "tchau",
    "tchauzinho": "tchau",
    "bjs": "beijos",
    "abs": "abraco",
    "msg": "mensagem",
    "info": "informacao",
    "infos": "informacoes",
    # domain words
    "nf": "nf",
    "nfe": "nf",
    "nfs": "nf",
    "nfes": "nf",
    "nf-e": "nf",
    "nfse": "nf",
    "danfe": "nf",
    "danfes": "nf",
    "2a": "segunda",
    "2ª": "segunda",
    "2°": "segunda",
    "2º": "segunda",
    "2via": "segunda via",
    "seg": "segunda",
    "pgto": "pagamento",
    "pagto": "pagamento",
    "pgt": "pagamento",
    "pgmt": "pagamento",
    "pgtos": "pagamentos",
    "bolto": "boleto",
    "boelto": "boleto",
    "bleto": "boleto",
    "cnpjs": "cnpj",
    "cpnj": "cnpj",
    "cnjp": "cnpj",
    "senah": "senha",
    "snha": "senha",
    "cadatro": "cadastro",
    "cadasto": "cadastro",
    "cadstro": "cadastro",
    "logar": "login",
    "logon": "login",
    "loguin": "login",
    "logim": "login",
    "usuario": "usuario",
    "user": "usuario",
    "usr": "usuario",
    "ped": "pedido",
    "pedid": "pedido",
    "comissao": "comissao",
    "comisao": "comissao",
    "cotacao": "cotacao",
    "cotaçao": "cotacao",
    "orcamento": "orcamento",
    "atendente": "atendente",
    "atd": "atendimento",
    "add": "adicionar",
    "adc": "adicionar",
    "adm": "administrador",
    "admin": "administrador",
}

_DIGITS_ONLY = re.compile(r"^[\d.\-/]+$")
_REPEATS = re.compile(r"(\w)\1{2,}")
_LAUGH = re.compile(r"^(?:k{3,}|(?:ha){2,}h?|(?:he){2,}h?|(?:rs){2,}|kk)$")


def strip_accents(text: str) -> str:
    """Remove diacritics: "não" -> "nao", "ç" -> "c"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_word(word: str) -> str:
    """Normalize one token for featurization.

    Lower-case, strip accents, map long numbers to one placeholder, collapse
    letter elongations ("oiiii" -> "oi") and expand chat abbreviations.
    """
    lowered = word.lower()
    if lowered in ABBREVIATIONS:  # before accent stripping: "2ª", "ñ"
        return ABBREVIATIONS[lowered]
    plain = strip_accents(lowered)
    if _DIGITS_ONLY.match(plain) and sum(ch.isdigit() for ch in plain) >= 4:
        return "numero"
    if _LAUGH.match(plain):
        return "risos"
    plain = _REPEATS.sub(r"\1", plain)
    return ABBREVIATIONS.get(plain, plain)
