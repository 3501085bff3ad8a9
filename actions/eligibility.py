""""Minha revenda pode se cadastrar?": checks the CNPJ against the portal data."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.formatting import INVALID_CNPJ
from portal import ids
from portal.clock import today_in_brazil
from portal.db import session_scope
from portal.lookups import Eligibility, registration_eligibility


class ValidateEligibilityForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_eligibility_form"

    async def validate_eligibility_cnpj(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "")
        cnpj = ids.find_cnpj(text) or ids.digits(text)
        if ids.is_valid_cnpj(cnpj):
            return {"eligibility_cnpj": cnpj}
        if tracker.get_slot("requested_slot") != "eligibility_cnpj":
            return {"eligibility_cnpj": None}  # the opening message had no CNPJ: ask for it
        dispatcher.utter_message(text=INVALID_CNPJ)
        return {"eligibility_cnpj": None}


class ActionCheckEligibility(Action):
    def name(self) -> Text:
        return "action_check_eligibility"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        cnpj = tracker.get_slot("eligibility_cnpj") or ""
        with session_scope() as session:
            result = registration_eligibility(session, cnpj, today_in_brazil())
        shown = ids.format_cnpj(cnpj) if ids.is_valid_cnpj(cnpj) else cnpj
        if result is Eligibility.ELIGIBLE:
            dispatcher.utter_message(
                text=f"Boa notícia: o CNPJ {shown} tem pedido faturado nos últimos 12 meses, então a "
                     "revenda pode se cadastrar. ✅\n"
                     "Lembre-se: o cadastro inicial deve ser solicitado pelo principal executivo da "
                     f"revenda. Para solicitar, acesse: {tracker.get_slot('link_cadastro')}"
            )
        else:
            dispatcher.utter_message(
                text=f"Não encontrei pedido faturado nos últimos 12 meses para o CNPJ {shown}. Para se "
                     "cadastrar na My ScanSource, o CNPJ precisa ter ao menos um pedido faturado nesse "
                     "período.\nSe achar que há um engano, fale com o nosso time de pós-venda: "
                     f"{tracker.get_slot('link_pos_venda')}"
            )
        return [SlotSet("eligibility_cnpj", None)]
