"""The SEPA Credit Transfer file (ISO 20022 pain.001.001.03) of a batch, made with
`sepaxml` and checked against the schema it ships: one payment information block (batch
booking) from the merchant's account, one transaction per payout."""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sepaxml
import xmlschema
from sepaxml import SepaTransfer

SCHEMA = "pain.001.001.03"
NAMESPACE = f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"
SCHEMA_FILE = Path(sepaxml.__file__).parent / "schemas" / f"{SCHEMA}.xsd"
MAX_REMITTANCE_LENGTH = 140


@dataclass(frozen=True)
class Debtor:
    name: str
    iban: str
    bic: str | None


TEST_MODE_DEBTOR = Debtor(name="Kohort test mode", iban="BE68539007547034", bic=None)
"""The simulated account test-mode batches are paid from: test mode never names live mode's
debtor account, and needs none to be set up."""


@dataclass(frozen=True)
class Transfer:
    end_to_end_id: str
    creditor_name: str
    iban: str
    amount: int
    """Cents."""
    remittance: str


@lru_cache
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA_FILE)


def _set(root: ET.Element, path: str, text: str) -> None:
    for element in root.iterfind(path, {"p": NAMESPACE}):
        element.text = text


def _bic_not_provided(root: ET.Element) -> None:
    """IBAN-only (no BIC): the EPC guidelines' `<Othr><Id>NOTPROVIDED</Id></Othr>`."""
    path = "p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAgt/p:FinInstnId"
    for institution in root.iterfind(path, {"p": NAMESPACE}):
        if len(institution) == 0:
            other = ET.SubElement(institution, f"{{{NAMESPACE}}}Othr")
            ET.SubElement(other, f"{{{NAMESPACE}}}Id").text = "NOTPROVIDED"


def build(
    *,
    message_id: str,
    debtor: Debtor,
    transfers: list[Transfer],
    created_at: datetime,
    execution_date: date,
    currency: str,
) -> str:
    """The document, valid against the pain.001.001.03 schema (else `XMLSchemaValidationError`).
    `message_id` is both `MsgId` and `PmtInfId`; `created_at` (UTC) is `CreDtTm`."""
    config: dict[str, Any] = {
        "name": debtor.name,
        "IBAN": debtor.iban,
        "batch": True,
        "currency": currency,
    }
    if debtor.bic:
        config["BIC"] = debtor.bic
    document = SepaTransfer(config, schema=SCHEMA, clean=True)
    for transfer in transfers:
        document.add_payment(
            {
                "name": transfer.creditor_name,
                "IBAN": transfer.iban,
                "amount": transfer.amount,
                "execution_date": execution_date,
                "description": transfer.remittance[:MAX_REMITTANCE_LENGTH],
                "endtoend_id": transfer.end_to_end_id,
            }
        )
    ET.register_namespace("", NAMESPACE)
    root = ET.fromstring(document.export(validate=False))
    _set(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", message_id)
    _set(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    _set(root, "p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId", message_id)
    if not debtor.bic:
        _bic_not_provided(root)
    ET.indent(root)
    xml = ET.tostring(root, encoding="unicode", xml_declaration=False)
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + xml
    schema().validate(text)
    return text
