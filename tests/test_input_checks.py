import pytest

from nlu_components.input_checks import MAX_MESSAGE_CHARS, InputProblem, find_problem


@pytest.mark.parametrize(
    "text, problem",
    [
        (None, InputProblem.EMPTY),
        ("", InputProblem.EMPTY),
        ("   \n\t ", InputProblem.EMPTY),
        ("a" * (MAX_MESSAGE_CHARS + 1), InputProblem.TOO_LONG),
        ("boleto " * 2000, InputProblem.TOO_LONG),
        ("😀😀😀", InputProblem.NO_WORDS),
        ("?!?! ...", InputProblem.NO_WORDS),
        ("<script>alert(1)</script>", InputProblem.CODE),
        ("<b>esqueci</b> a senha", InputProblem.CODE),
        ('<img src=x onerror="alert(1)">', InputProblem.CODE),
        ("'; DROP TABLE pedidos; --", InputProblem.CODE),
        ("SELECT * FROM boletos WHERE cnpj = 1", InputProblem.CODE),
        ("' or '1'='1", InputProblem.CODE),
        ("where is my order please", InputProblem.FOREIGN),
        ("I forgot my password, can you help me?", InputProblem.FOREIGN),
        ("hola, necesito la factura de mi pedido", InputProblem.FOREIGN),
        ("¿dónde está mi pedido? gracias", InputProblem.FOREIGN),
    ],
)
def test_problems_found(text, problem):
    assert find_problem(text) is problem


@pytest.mark.parametrize(
    "text",
    [
        "esqueci minha senha",
        "oi",
        "nf",
        "2a via do boleto pf",
        "quero o invoice do pedido 123",
        "meu login não funciona no portal",
        "como faço para ter acesso à plataforma?",
        "preciso de ajuda com o download das notas",
        "to com problema no boleto",
        "a < b e c > d",
        "te amo <3",
        "como está meu pedido?",
        "status de pedido",
        "por favor",
        "que perfil de usuario",
        "sim, por favor",
        "atendente por favor",
        "pedido de cadastro",
        "o que é perfil de administrador",
        "se for possível me manda o boleto",
        "to com problema no login",
        "boleto pago não baixou",
        "qual o status do envio",
        "estas notas não aparecem",
        "preciso do download da nf",
        "hey, tudo bem?",
        "quero selecionar o pedido e atualizar o cadastro",
        "apaguei sem querer, como desfaço a seleção de usuários?",
        "a" * MAX_MESSAGE_CHARS,
        "ok",
        "12345",
    ],
)
def test_portuguese_and_odd_but_readable_text_passes(text):
    assert find_problem(text) is None
