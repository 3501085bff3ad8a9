"""Checks on the assistant's data: coverage, held-out hygiene, answers vs. the FAQ."""

from __future__ import annotations

import glob
import re
from pathlib import Path

import pytest
import yaml

from actions.labels import INTENT_LABELS
from nlu_components.normalizer import strip_accents

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "000_5e15f7ea36f7b7ba.txt"
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
INTENTS = DOMAIN["intents"]
RESPONSES = DOMAIN["responses"]


def examples_by_intent(pattern: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(glob.glob(str(ROOT / pattern))):
        for block in yaml.safe_load(Path(path).read_text()).get("nlu", []):
            if "intent" in block:
                lines = [l.strip()[2:].strip() for l in block["examples"].splitlines() if l.strip()]
                found.setdefault(block["intent"], []).extend(lines)
    return found


TRAIN = examples_by_intent("data/nlu/*.yml")
HOLDOUT = examples_by_intent("tests/nlu/holdout_*.yml")


def canonical(text: str) -> str:
    words = re.findall(r"\w+", strip_accents(text.lower()))
    return " ".join(sorted(words))


def test_every_intent_has_at_least_20_training_examples():
    assert set(TRAIN) == set(INTENTS)
    thin = {i: len(TRAIN[i]) for i in INTENTS if len(TRAIN[i]) < 20}
    assert not thin


def test_every_intent_has_at_least_8_held_out_examples():
    assert set(HOLDOUT) == set(INTENTS)
    thin = {i: len(HOLDOUT[i]) for i in INTENTS if len(HOLDOUT[i]) < 8}
    assert not thin


def test_held_out_set_never_appears_in_training():
    trained = {canonical(t) for examples in TRAIN.values() for t in examples}
    leaked = [t for examples in HOLDOUT.values() for t in examples if canonical(t) in trained]
    assert not leaked


def test_no_training_example_is_labelled_with_two_intents():
    owner: dict[str, str] = {}
    clashes = []
    for intent, examples in TRAIN.items():
        for text in examples:
            key = canonical(text)
            if key and owner.setdefault(key, intent) != intent:
                clashes.append((text, owner[key], intent))
    assert not clashes


def test_training_does_not_just_copy_the_faq_titles():
    titles = {canonical(line) for line in SEED.read_text().splitlines() if line.strip().endswith("?")}
    copied = [t for examples in TRAIN.values() for t in examples if canonical(t) in titles]
    assert not copied


def test_every_intent_is_answered_by_a_rule_and_covered_by_a_conversation_test():
    rules = (ROOT / "data" / "rules.yml").read_text()
    conversations = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.yml"))
    for intent in INTENTS:
        assert f"intent: {intent}\n" in rules, intent
        assert f"intent: {intent}\n" in conversations, intent


def test_every_question_the_bot_can_answer_has_a_button_label():
    answerable = [i for i in INTENTS if i.startswith("faq_") or f"utter_{i}" in RESPONSES]
    chat = {"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge", "out_of_scope"}
    assert set(INTENT_LABELS) == set(answerable) - chat


def test_responses_only_use_configured_link_slots():
    used = set()
    for name, variants in RESPONSES.items():
        for variant in variants:
            used |= set(re.findall(r"{(\w+)}", variant.get("text", "")))
    links = {name for name in DOMAIN["slots"] if name.startswith("link_")}
    assert used == links


# Facts of each FAQ answer (shared seed) that the assistant's answer must keep.
SEED_FACTS = {
    "faq_what_is_platform": ["exclusiva para revendas parceiras", "pós-venda", "status de pedidos",
                             "2ª via de notas fiscais e boletos", "status de pagamentos", "comissões",
                             "multi-CNPJ", "pedido faturado nos últimos 12 meses"],
    "faq_who_can_access": ["exclusiva para revendas parceiras", "pedido faturado nos últimos 12 meses",
                           "não terá acesso", "revenda responsável", "{link_pos_venda}"],
    "faq_not_a_reseller": ["Infelizmente, não", "restrita a revendas parceiras", "revenda responsável",
                           "{link_pos_venda}"],
    "faq_what_can_i_do": ["status de pedidos", "2ª via de notas fiscais e boletos", "pagamentos"],
    "faq_quotes": ["Não.", "pós-venda", "Formulário de Cotação", "{link_cotacao}", "Sudeste",
                   "loja virtual", "{link_loja_virtual}"],
    "faq_commissions": ["Ainda não", "Portal do Revendedor", "central de ajuda",
                        "{link_ajuda_portal_revendedor}"],
    "faq_end_customer": ["Não.", "restrita a revendas parceiras"],
    "faq_coming_soon": ["comissões", "multi-CNPJ"],
    "faq_registration": ["revenda parceira", "pedido faturado nos últimos 12 meses",
                         "principal executivo da revenda", "{link_cadastro}"],
    "faq_reseller_portal_login": ["Sim", "plataformas diferentes", "pedido faturado nos últimos 12 meses",
                                  "principal executivo da revenda", "{link_cadastro}"],
    "faq_cannot_login": ["CPF usado no cadastro, sem pontos ou traços", "Portal do Revendedor",
                         "ambientes diferentes", "Abra um chamado", "{link_chamado}", "{link_cadastro}"],
    "faq_forgot_password": ['"Recuperar minha senha"', "CPF usado no cadastro (sem pontos ou traços)",
                            "e-mail cadastrado", "{link_chamado}", "mais detalhes"],
    "faq_forgot_registration_data": ["abrir um chamado", "{link_chamado}", "mais detalhes"],
    "faq_profile_types": ["Administrador: acesso total; pode adicionar, editar e excluir usuários",
                          "Gerenciador: pode visualizar e baixar documentos",
                          "Visualizador: pode apenas visualizar documentos"],
    "faq_add_user": ["Apenas usuários com perfil Administrador", "1. Faça login", '"Administrar usuários"',
                     '"Adicionar usuário"', '"Convidar"'],
    "faq_edit_user": ["Apenas usuários com perfil Administrador", "1. Faça login", '"Administrar usuários"',
                      "ícone de lápis", '"Salvar"'],
    "faq_download_problem": ["pop-up", '"Visualizador"', "não permite download", "chamado técnico",
                             "{link_chamado}"],
    "faq_documents_missing": ["abrir um chamado", "{link_chamado}", "mais detalhes"],
    "faq_other_subject": ["apenas com assuntos da plataforma My ScanSource", "vendedor", "pós-venda",
                          "{link_pos_venda}", "abra um chamado", "{link_chamado}"],
}


@pytest.mark.parametrize("intent", sorted(SEED_FACTS))
def test_faq_answer_keeps_the_facts_of_the_source_faq(intent):
    text = RESPONSES[f"utter_{intent}"][0]["text"]
    missing = [fact for fact in SEED_FACTS[intent] if fact not in text]
    assert not missing


def test_every_faq_intent_has_its_facts_checked():
    assert set(SEED_FACTS) == {i for i in INTENTS if i.startswith("faq_")}


def test_seed_is_where_the_tests_expect_it():
    assert "My ScanSource" in SEED.read_text()
