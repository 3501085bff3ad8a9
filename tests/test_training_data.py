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
# The FAQ that is the source of truth, copied into the repo so a clone is
# self-contained; SHARED_SEED is where the team publishes it.
SEED = ROOT / "docs" / "faq_source.txt"
SHARED_SEED = ROOT.parent / "shared" / "seed" / "000_5e15f7ea36f7b7ba.txt"
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


# The FAQ's entries that are statements rather than questions.
STATEMENT_TITLES = [
    "Eu não consigo fazer o login",
    "Não lembro meus dados de cadastro",
    "Não consigo fazer download das Notas Fiscais/Boletos",
    "As Notas Fiscais/Boletos não aparecem",
    "Não encontrei a resposta da minha dúvida/problema",
]


def seed_titles() -> set[str]:
    lines = [line.strip() for line in SEED.read_text().splitlines()]
    assert all(title in lines for title in STATEMENT_TITLES)
    titles = [line for line in lines if line.endswith("?")] + STATEMENT_TITLES
    # "Esqueci minha senha. Como recuperar?" also counts sentence by sentence.
    parts = [part for title in titles for part in re.split(r"(?<=[.?])\s+", title)]
    return {canonical(text) for text in titles + parts}


def test_training_does_not_just_copy_the_faq_titles():
    titles = seed_titles()
    copied = [t for examples in TRAIN.values() for t in examples if canonical(t) in titles]
    assert not copied


def conversation_test_messages() -> list[str]:
    messages = []
    for path in sorted((ROOT / "tests").glob("test_*.yml")):
        for story in yaml.safe_load(path.read_text())["stories"]:
            messages += [s["user"].strip() for s in story["steps"] if "user" in s]
    return [m for m in messages if not m.startswith("/")]


def test_conversation_tests_use_messages_the_model_never_saw():
    from test_server import FAQ_QUESTIONS

    seen = {canonical(t) for data in (TRAIN, HOLDOUT) for ex in data.values() for t in ex}
    messages = conversation_test_messages() + list(FAQ_QUESTIONS.values())
    reused = [m for m in messages if canonical(m) in seen]
    assert not reused


def test_every_intent_is_answered_by_a_rule_and_covered_by_a_conversation_test():
    rules = (ROOT / "data" / "rules.yml").read_text()
    conversations = "".join(p.read_text() for p in (ROOT / "tests").glob("test_*.yml"))
    for intent in INTENTS:
        assert f"intent: {intent}\n" in rules, intent
        assert f"intent: {intent}\n" in conversations, intent


def test_every_question_the_bot_can_answer_has_a_button_label():
    conversational = {"greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge",
                      "out_of_scope", "logout"}
    assert set(INTENT_LABELS) == set(INTENTS) - conversational


def test_responses_only_use_configured_link_slots():
    used = set()
    for name, variants in RESPONSES.items():
        for variant in variants:
            used |= set(re.findall(r"{(\w+)}", variant.get("text", "")))
    links = {name for name in DOMAIN["slots"] if name.startswith("link_")}
    assert used == links


# Facts of each FAQ entry, in the FAQ's own words, that the assistant's answer
# must keep. Compared without case and punctuation.
SEED_FACTS = {
    "faq_what_is_platform": ["plataforma exclusiva para revendas parceiras", "com foco em serviços pós-venda",
                             "status de pedidos", "2ª via de notas fiscais e boletos", "status de pagamentos",
                             "ferramentas de comissões", "acesso unificado por multi-CNPJ",
                             "ao menos um pedido faturado nos últimos 12 meses"],
    "faq_who_can_access": ["exclusiva para revendas parceiras da ScanSource",
                           "ao menos um pedido faturado nos últimos 12 meses",
                           "não realiza compras diretas com a ScanSource", "não terá acesso",
                           "revenda responsável"],
    "faq_not_a_reseller": ["Infelizmente, não", "restrita a revendas parceiras da ScanSource",
                           "revenda responsável"],
    "faq_what_can_i_do": ["Consultar status de pedidos", "emitir 2ª via de documentos", "acompanhar pagamentos"],
    "faq_quotes": ["Não.", "voltada para pós-venda", "Formulário de Cotação", "região Sudeste",
                   "loja virtual para compras diretas"],
    "faq_commissions": ["Ainda não", "Enquanto essa funcionalidade não está disponível",
                        "Portal do Revendedor", "central de ajuda"],
    "faq_end_customer": ["Não.", "restrita a revendas parceiras ScanSource"],
    "faq_coming_soon": ["ferramentas de comissões", "acesso unificado por multi-CNPJ"],
    "faq_registration": ["revenda parceira ScanSource", "ao menos um pedido faturado nos últimos 12 meses",
                         "principal executivo da revenda"],
    "faq_reseller_portal_login": ["Sim!", "As plataformas são diferentes", "novo login",
                                  "ao menos um pedido faturado nos últimos 12 meses",
                                  "principal executivo da revenda"],
    "faq_cannot_login": ["CPF utilizado no cadastro, sem pontos ou traços", "Portal do Revendedor",
                         "são ambientes diferentes e, por isso, o login de um não funciona no outro",
                         "é só abrir um chamado que a gente te ajuda"],
    "faq_forgot_password": ["Recuperar minha senha", "sem pontos ou traços", "e-mail cadastrado",
                            "instruções para criar uma nova senha", "é só abrir um chamado que a gente te ajuda",
                            "mais rápida será a resolução do seu problema"],
    "faq_forgot_registration_data": ["é preciso abrir um chamado que a gente te ajuda",
                                     "mais rápida será a resolução do seu problema"],
    "faq_profile_types": ["Administrador: Acesso total, pode adicionar, editar e excluir usuários",
                          "Gerenciador: Pode visualizar e baixar documentos",
                          "Visualizador: Pode apenas visualizar documentos"],
    "faq_add_user": ["Apenas usuários com perfil de Administrador podem adicionar novos usuários",
                     "Faça login na plataforma", "Vá até o final da tela inicial", "Administrar usuários",
                     "Adicionar usuário", "preencha os dados", "Convidar"],
    "faq_edit_user": ["Apenas usuários com perfil de Administrador podem editar", "Faça login na plataforma",
                      "Administrar usuários", "ícone de lápis ao lado do usuário a ser editado",
                      "Altere o perfil", "Salvar"],
    "faq_download_problem": ["Verifique se o pop-up está liberado no navegador", "Visualizador",
                             "esse tipo não permite download", "chamado técnico",
                             "mais rápida será a resolução do seu problema"],
    "faq_documents_missing": ["é preciso abrir um chamado que a gente te ajuda",
                              "mais rápida será a resolução do seu problema"],
    "faq_other_subject": ["apoiar apenas em questões relacionadas à plataforma My ScanSource",
                          "outro assunto ou área da empresa", "seu vendedor", "time de pós-venda",
                          "abra um chamado", "mais rápida será a resolução do seu problema"],
}
# Where the FAQ says "clique aqui" or gives an address, the answer gives a link.
SEED_LINKS = {
    "faq_who_can_access": ["link_pos_venda"],
    "faq_not_a_reseller": ["link_pos_venda"],
    "faq_quotes": ["link_cotacao", "link_loja_virtual"],
    "faq_commissions": ["link_ajuda_portal_revendedor"],
    "faq_registration": ["link_cadastro"],
    "faq_reseller_portal_login": ["link_cadastro"],
    "faq_cannot_login": ["link_chamado", "link_cadastro"],
    "faq_forgot_password": ["link_chamado"],
    "faq_forgot_registration_data": ["link_chamado"],
    "faq_download_problem": ["link_chamado"],
    "faq_documents_missing": ["link_chamado"],
    "faq_other_subject": ["link_pos_venda", "link_chamado"],
}


def plain(text: str) -> str:
    return " ".join(re.sub(r"[;:,.!?\"()•]", " ", text.lower()).split())


@pytest.mark.parametrize("intent", sorted(SEED_FACTS))
def test_faq_answer_keeps_the_facts_of_the_source_faq(intent):
    seed = plain(SEED.read_text())
    answer = plain(RESPONSES[f"utter_{intent}"][0]["text"])
    assert [f for f in SEED_FACTS[intent] if plain(f) not in seed] == []  # facts are the FAQ's words
    assert [f for f in SEED_FACTS[intent] if plain(f) not in answer] == []
    links = re.findall(r"{(link_\w+)}", RESPONSES[f"utter_{intent}"][0]["text"])
    assert set(SEED_LINKS.get(intent, [])) <= set(links)


def test_every_faq_intent_has_its_facts_checked():
    assert set(SEED_FACTS) == {i for i in INTENTS if i.startswith("faq_")}


def test_repo_copy_of_the_faq_matches_the_published_one():
    if not SHARED_SEED.exists():
        pytest.skip(f"the published FAQ is not at {SHARED_SEED}")
    assert SEED.read_text() == SHARED_SEED.read_text()
