"""Short pt-BR titles of the questions the assistant can answer.

Used as button titles when the assistant is unsure ("Você quis dizer: ...").
Every intent with an answer should have one (a test checks it); the
conversational ones (greet, thanks...) are never suggested.
"""

INTENT_LABELS: dict[str, str] = {
    "faq_what_is_platform": "O que é a plataforma",
    "faq_who_can_access": "Quem pode acessar",
    "faq_not_a_reseller": "Não sou revenda",
    "faq_what_can_i_do": "O que posso fazer",
    "faq_quotes": "Pedir cotações",
    "faq_commissions": "Consultar comissões",
    "faq_end_customer": "Acesso do cliente",
    "faq_coming_soon": "Novidades em breve",
    "faq_registration": "Como me cadastrar",
    "faq_reseller_portal_login": "Já tenho outro login",
    "faq_cannot_login": "Não consigo entrar",
    "faq_forgot_password": "Esqueci minha senha",
    "faq_forgot_registration_data": "Esqueci meus dados",
    "faq_profile_types": "Tipos de perfil",
    "faq_add_user": "Adicionar usuário",
    "faq_edit_user": "Editar usuário",
    "faq_download_problem": "Não consigo baixar",
    "faq_documents_missing": "Não vejo NF/boleto",
    "faq_other_subject": "Minha dúvida é outra",
    "order_status": "Status de pedido",
    "invoice_copy": "2ª via de nota",
    "boleto_copy": "2ª via de boleto",
    "payment_status": "Status de pagamento",
    "open_ticket": "Abrir um chamado",
    "talk_to_human": "Falar com uma pessoa",
    "ticket_status": "Status do chamado",
    "check_eligibility": "Verificar meu CNPJ",
}
