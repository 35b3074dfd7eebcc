"""Mutual aid's input contract (sharing.mutualaid.contract) is declared once and read everywhere:

- the web UI's forms (stock, a request, an offer, an acceptance) and the API's serializers take
  their limits from it (the UI once allowed 1,000,000 of a resource where the API allowed ten
  times as much);
- its checks answer every value at its bound and one past it, naming the field;
- the services hold a caller to it with no serializer in front (the CSV import, the UI);
- a contact is one line of text: a NUL or a line break in a name, role or phone is refused
  (a NUL was accepted before and broke the write on PostgreSQL).
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from config.errors import ValidationFailed
from sharing.mutualaid import contract
from sharing.mutualaid.api import serializers
from sharing.mutualaid.models import Inventory, ResourceRequest
from tests.conftest import ZHUHAI
from tests.mutualaid.conftest import stock
from tests.mutualaid.support import principal
from ui import forms as ui_forms
from ui import stock_forms


def _attr(form, name: str, attr: str) -> int:
    return int(form.fields[name].widget.attrs[attr])


def test_the_ui_forms_limits_are_the_contracts():
    request, offer = ui_forms.ResourceRequestForm(), ui_forms.OfferForm()
    stock_form = stock_forms.StockCorrectForm()
    assert {
        "request quantity": _attr(request, "quantity", "max"),
        "request description": _attr(request, "description", "maxlength"),
        "offer quantity": _attr(offer, "quantity", "max"),
        "offer note": _attr(offer, "note", "maxlength"),
        "accepted quantity": _attr(ui_forms.AcceptForm(), "quantity", "max"),
        "stock on hand": _attr(stock_form, "on_hand", "max"),
        "stock place": _attr(stock_form, "location", "maxlength"),
    } == {
        "request quantity": contract.MAX_QUANTITY, "request description": contract.DESCRIPTION_MAX_LENGTH,
        "offer quantity": contract.MAX_QUANTITY, "offer note": contract.NOTE_MAX_LENGTH,
        "accepted quantity": contract.MAX_QUANTITY, "stock on hand": contract.MAX_QUANTITY,
        "stock place": contract.PLACE_NAME_MAX_LENGTH,
    }
    assert f'maxlength="{contract.NOTE_MAX_LENGTH}"' in str(offer["note"])


def test_the_api_serializers_limits_are_the_contracts():
    contact = serializers.ContactOutput().fields
    reimbursement = serializers.ReimbursementInput().fields
    assert {
        "contacts": serializers.ContactsInput().max_length,
        "contact": tuple(contact[key].max_length for key in contract.CONTACT_KEYS),
        "external_id": serializers.InventoryInput().fields["external_id"].max_length,
        "description": serializers.RequestInput().fields["description"].max_length,
        "offer note": serializers.OfferInput().fields["note"].max_length,
        "move note": serializers.MoveInput().fields["note"].max_length,
        "reason": serializers.CancelInput().fields["reason"].max_length,
        "reimbursement note": reimbursement["note"].max_length,
        "currency": reimbursement["currency"].max_length,
        "amount": (reimbursement["amount"].max_digits, reimbursement["amount"].decimal_places),
    } == {
        "contacts": contract.MAX_CONTACTS,
        "contact": tuple(most for _, most in contract.CONTACT_LIMITS),
        "external_id": contract.EXTERNAL_ID_MAX_LENGTH, "description": contract.DESCRIPTION_MAX_LENGTH,
        "offer note": contract.NOTE_MAX_LENGTH, "move note": contract.NOTE_MAX_LENGTH,
        "reason": contract.REASON_MAX_LENGTH, "reimbursement note": contract.NOTE_MAX_LENGTH,
        "currency": contract.CURRENCY_LENGTH,
        "amount": (contract.AMOUNT_MAX_DIGITS, contract.AMOUNT_DECIMAL_PLACES),
    }


def refused(check, *args, **kwargs) -> str | None:
    """The field a contract check names in its refusal, or None when it accepts."""
    try:
        check(*args, **kwargs)
    except ValidationFailed as exc:
        (field,) = exc.errors
        return field
    return None


CONTACT = {"name": "值班室", "role": "调度", "phone": "+86 756 000 0000"}


@pytest.mark.parametrize("contacts, field", [
    ([CONTACT], None),
    ([{"name": "值班室"}], None),
    ([CONTACT] * contract.MAX_CONTACTS, None),
    ([CONTACT] * (contract.MAX_CONTACTS + 1), "contacts"),
    *[([{**CONTACT, key: "x" * most}], None) for key, most in contract.CONTACT_LIMITS],
    *[([{**CONTACT, key: "x" * (most + 1)}], f"contacts.0.{key}") for key, most in contract.CONTACT_LIMITS],
    # One line each: no NUL, no line break, no other control character.
    *[([{**CONTACT, key: f"值班{bad}室"}], f"contacts.0.{key}")
      for key in contract.CONTACT_KEYS for bad in ("\x00", "\n", "\x1b", "\x7f")],
    ([CONTACT, {"name": "  "}], "contacts.1"),
    ([{**CONTACT, "email": "a@b.c"}], "contacts.0.email"),
    ("call us", "contacts"),
])
def test_contacts(contacts, field):
    assert refused(contract.contacts_checked, contacts) == field


@pytest.mark.parametrize("value, field", [
    ("香洲储备库", None),
    ("x" * contract.PLACE_NAME_MAX_LENGTH, None),
    ("x" * (contract.PLACE_NAME_MAX_LENGTH + 1), "location.name"),
    ("香洲\x00储备库", "location.name"),
    ({"lat": contract.MAX_LATITUDE, "lon": -contract.MAX_LONGITUDE}, None),
    ({"lat": contract.MAX_LATITUDE + 0.001, "lon": 113.5}, "location.lat"),
    ({"lat": 22.2, "lon": contract.MAX_LONGITUDE + 0.001}, "location.lon"),
    ({"lat": 22.2}, "location"),
    ({"lat": True, "lon": 113.5}, "location.lat"),
])
def test_places(value, field):
    assert refused(contract.place_checked, value) == field


@pytest.mark.parametrize("value, positive, field", [
    (contract.MAX_QUANTITY, True, None),
    (contract.MAX_QUANTITY + 1, True, "quantity"),
    (0, False, None),
    (0, True, "quantity"),
    ("12", True, None),  # as a CSV gives it
    (1.5, True, "quantity"),
    (True, True, "quantity"),
])
def test_quantities(value, positive, field):
    assert refused(contract.quantity_checked, "quantity", value, positive=positive) == field


@pytest.mark.parametrize("value, field", [
    ("第一行\n第二行", None),
    ("x" * contract.NOTE_MAX_LENGTH, None),
    ("x" * (contract.NOTE_MAX_LENGTH + 1), "note"),
    ("a\x00b", "note"),
    (None, None),
    (7, "note"),
])
def test_texts(value, field):
    assert refused(contract.text_checked, "note", value, contract.NOTE_MAX_LENGTH) == field


@pytest.mark.parametrize("amount, accepted", [
    (contract.MAX_AMOUNT, True),
    (contract.MAX_AMOUNT + Decimal("0.01"), False),
    (Decimal("0"), True),
    (Decimal("1.005"), False),
])
def test_an_amount_is_taken_alike_by_the_contract_and_the_api(amount, accepted):
    """The contract's largest amount is the column's (numeric(14, 2)) and the serializer's."""
    field = serializers.ReimbursementInput().fields["amount"]
    try:
        field.run_validation(str(amount))
        api = True
    except ValidationError:
        api = False
    assert (refused(contract.amount_checked, str(amount)) is None, api) == (accepted, accepted)


@pytest.mark.parametrize("currency, field", [("HKD", None), (None, None), ("hkd", "currency"),
                                             ("CNY\n", "currency"), ("CNYX", "currency")])
def test_currencies(currency, field):
    assert refused(contract.currency_checked, currency) == field


# --- the services and the API hold callers to it ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("key", contract.CONTACT_KEYS)
def test_a_nul_in_a_contact_is_a_400_naming_it_and_nothing_is_written(world, as_, key):
    body = {"resource_type": "drainage_pump", "on_hand": 3, "contacts": [{**CONTACT, key: "值班\x00室"}]}
    response = as_(ZHUHAI, role="operator").post("/api/v1/inventories/", body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [f"contacts.0.{key}"]
    # The same without a serializer in front (the CSV import's and the UI's path).
    with pytest.raises(ValidationFailed) as refusal:
        stock(ZHUHAI, "drainage_pump", 3, contacts=[{**CONTACT, key: "值班\x00室"}])
    assert list(refusal.value.errors) == [f"contacts.0.{key}"]
    assert not Inventory.objects.exists()


@pytest.mark.django_db
def test_the_request_service_holds_a_description_to_the_contracts_limit(zhuhai_flood):
    from sharing.mutualaid.services.requests import resource_request_create

    actor = principal(ZHUHAI, role="commander")

    def ask(description: str):
        return resource_request_create(actor=actor, data={
            "incident": zhuhai_flood.public_id, "resource_type": "drainage_pump", "quantity": 2,
            "needed_by": timezone.now() + timedelta(hours=6), "description": description})

    with pytest.raises(ValidationFailed) as refusal:
        ask("d" * (contract.DESCRIPTION_MAX_LENGTH + 1))
    assert list(refusal.value.errors) == ["description"]
    assert not ResourceRequest.objects.exists()
    assert ask("d" * contract.DESCRIPTION_MAX_LENGTH).description == "d" * contract.DESCRIPTION_MAX_LENGTH
