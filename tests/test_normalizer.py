import pytest

from nlu_components.normalizer import normalize_word, strip_accents


@pytest.mark.parametrize(
    "word, expected",
    [
        ("Você", "voce"),
        ("vc", "voce"),
        ("VC", "voce"),
        ("não", "nao"),
        ("ñ", "nao"),
        ("pq", "porque"),
        ("oiiiii", "oi"),
        ("obrigadooooo", "obrigado"),
        ("obg", "obrigado"),
        ("2ª", "segunda"),
        ("2a", "segunda"),
        ("NF-e", "nf"),
        ("danfe", "nf"),
        ("pgto", "pagamento"),
        ("senah", "senha"),
        ("kkkkk", "risos"),
        ("123456", "numero"),
        ("12.345.678/0001-95", "numero"),
        ("12", "12"),
        ("cotação", "cotacao"),
        ("boleto", "boleto"),
    ],
)
def test_normalize_word(word, expected):
    assert normalize_word(word) == expected


def test_strip_accents_keeps_letters():
    assert strip_accents("ação é útil à revenda") == "acao e util a revenda"


def test_tokenizer_keeps_text_and_offsets_but_normalizes_lemma():
    from rasa.shared.nlu.training_data.message import Message

    from nlu_components.tokenizer import NormalizingTokenizer

    tokenizer = NormalizingTokenizer(NormalizingTokenizer.get_default_config())
    message = Message(data={"text": "Vc pode mandar a 2ª via da NF?"})
    tokens = tokenizer.tokenize(message, "text")
    assert [t.text for t in tokens][:2] == ["Vc", "pode"]
    assert tokens[0].start == 0 and tokens[0].end == 2
    assert [t.lemma for t in tokens] == ["voce", "pode", "mandar", "a", "segunda", "via", "da", "nf"]


def test_tokenizer_caps_huge_messages():
    from rasa.shared.nlu.training_data.message import Message

    from nlu_components.tokenizer import NormalizingTokenizer

    tokenizer = NormalizingTokenizer({**NormalizingTokenizer.get_default_config(), "max_tokens": 50})
    message = Message(data={"text": "boleto " * 5000})
    assert len(tokenizer.tokenize(message, "text")) == 50
