"""An alert's input contract (incidents.alerts.contract) is declared once and read by both edges:

- the API's input serializers and the web UI's alert forms accept and refuse the same values:
  every limit at its bound and one past it, and the characters CAP cannot carry, taken from the
  declaration (a limit changed in one edge only answers differently here);
- the forms' maxlength is the contract's;
- the UI reads the contract, not the API's serializers (no edge imports another edge's).
"""

import ast
from pathlib import Path

import pytest
from rest_framework.exceptions import ValidationError

from incidents.alerts import contract
from incidents.alerts.api.serializers import AlertCancelInput, AlertTermsInput
from ui.forms import AlertCancelForm, AlertTermsForm

ROOT = Path(__file__).resolve().parents[2]


def _text(n: int) -> str:
    return "字" * n


def _web(n: int) -> str:
    prefix = "https://example.org/"
    return prefix + "a" * (n - len(prefix))


def _addresses(count: int, length: int = 12) -> list[str]:
    return [f"{index:04d}".ljust(length, "x") for index in range(count)]


# (what, the API's body, the form's fields, accepted?)
def _wording(name: str, value: str) -> tuple[dict, dict]:
    return {"info": [{"language": "zh-CN", name: value}]}, {f"{name}_zh": value}


CASES = [
    *[(f"{name} {n}", *_wording(name, _text(n)), n <= most)
      for name, most in (("headline", contract.HEADLINE_MAX_LENGTH), ("description", contract.DESCRIPTION_MAX_LENGTH),
                         ("instruction", contract.INSTRUCTION_MAX_LENGTH))
      for n in (most, most + 1)],
    # CAP carries line breaks and tabs in its long texts, no other control character; a
    # headline is one line.
    ("description with breaks", *_wording("description", "水位上涨\n请撤离\t高处"), True),
    ("description with BEL", *_wording("description", "水位\x07上涨"), False),
    ("description with NUL", *_wording("description", "水位\x00上涨"), False),
    ("instruction with FF", *_wording("instruction", "撤离\x0c高处"), False),
    ("headline with a break", *_wording("headline", "暴雨\n预警"), False),
    *[(f"restriction {n}", {"scope": "Restricted", "restriction": _text(n)},
       {"scope": "Restricted", "restriction": _text(n)}, n <= contract.RESTRICTION_MAX_LENGTH)
      for n in (contract.RESTRICTION_MAX_LENGTH, contract.RESTRICTION_MAX_LENGTH + 1)],
    ("restriction with a control character", {"restriction": "应急\x01部门"}, {"restriction": "应急\x01部门"}, False),
    *[(f"contact {n}", {"contact": _text(n)}, {"contact": _text(n)}, n <= contract.CONTACT_MAX_LENGTH)
      for n in (contract.CONTACT_MAX_LENGTH, contract.CONTACT_MAX_LENGTH + 1)],
    *[(f"web {n}", {"web": _web(n)}, {"web": _web(n)}, n <= contract.WEB_MAX_LENGTH)
      for n in (contract.WEB_MAX_LENGTH, contract.WEB_MAX_LENGTH + 1)],
    *[(f"note {n}", {"note": _text(n)}, {"note": _text(n)}, n <= contract.NOTE_MAX_LENGTH)
      for n in (contract.NOTE_MAX_LENGTH, contract.NOTE_MAX_LENGTH + 1)],
    ("note with VT", {"note": "请\x0b注意"}, {"note": "请\x0b注意"}, False),
    # Addressees: each at most its length, without quotes or control characters, at most so many.
    *[(f"{count} addressees of {length}", {"scope": "Private", "addresses": _addresses(count, length)},
       {"scope": "Private", "addresses": "\r\n".join(_addresses(count, length))},
       count <= contract.MAX_ADDRESSES and length <= contract.ADDRESS_MAX_LENGTH)
      for count, length in ((contract.MAX_ADDRESSES, contract.ADDRESS_MAX_LENGTH),
                            (contract.MAX_ADDRESSES + 1, 12), (1, contract.ADDRESS_MAX_LENGTH + 1))],
    ("an addressee with a quote", {"scope": "Private", "addresses": ['ops "east"']},
     {"scope": "Private", "addresses": 'ops "east"'}, False),
    ("an addressee with a tab", {"scope": "Private", "addresses": ["ops\teast"]},
     {"scope": "Private", "addresses": "ops\teast"}, False),
    ("a scope CAP does not know", {"scope": "Everyone"}, {"scope": "Everyone"}, False),
    ("every response type", {"response_type": list(contract.RESPONSE_TYPES)},
     {"response_type": list(contract.RESPONSE_TYPES)}, True),
    ("a response type CAP does not know", {"response_type": ["Panic"]}, {"response_type": ["Panic"]}, False),
]


def api_accepts(body: dict) -> bool:
    try:
        AlertTermsInput().run_validation(body)
    except ValidationError:
        return False
    return True


def ui_accepts(fields: dict) -> bool:
    form = AlertTermsForm(data={"scope": contract.DEFAULT_SCOPE, **fields})
    return form.is_valid()


@pytest.mark.parametrize("what, body, fields, accepted", CASES, ids=[case[0] for case in CASES])
def test_the_api_and_the_form_take_the_same_alert_terms(what, body, fields, accepted):
    assert (api_accepts(body), ui_accepts(fields)) == (accepted, accepted)


@pytest.mark.parametrize("n", [contract.NOTE_MAX_LENGTH, contract.NOTE_MAX_LENGTH + 1])
def test_a_cancel_note_has_the_same_limit_in_both(n):
    note = _text(n)
    try:
        AlertCancelInput().run_validation({"note": note})
        api = True
    except ValidationError:
        api = False
    assert (api, AlertCancelForm(data={"note": note}).is_valid()) == (n <= contract.NOTE_MAX_LENGTH,) * 2


def _maxlength(form, name: str) -> int:
    return int(form.fields[name].widget.attrs["maxlength"])


def test_the_forms_maxlength_is_the_contracts():
    form = AlertTermsForm()
    expected = {
        "restriction": contract.RESTRICTION_MAX_LENGTH, "contact": contract.CONTACT_MAX_LENGTH,
        "web": contract.WEB_MAX_LENGTH, "note": contract.NOTE_MAX_LENGTH,
        "addresses": contract.ADDRESSES_TEXT_MAX_LENGTH,
        **{f"{name}_{suffix}": most for suffix in ("zh", "en")
           for name, most in (("headline", contract.HEADLINE_MAX_LENGTH),
                              ("description", contract.DESCRIPTION_MAX_LENGTH),
                              ("instruction", contract.INSTRUCTION_MAX_LENGTH))},
    }
    assert {name: _maxlength(form, name) for name in expected} == expected
    assert f'maxlength="{contract.HEADLINE_MAX_LENGTH}"' in str(form["headline_zh"])
    assert _maxlength(AlertCancelForm(), "note") == contract.NOTE_MAX_LENGTH
    # One wording per language the contract writes, and the API takes no more.
    assert [language for language, _ in form.WORDING] == list(contract.LANGUAGES)
    assert AlertTermsInput().fields["info"].max_length == len(contract.LANGUAGES)


def test_the_api_serializers_limits_are_the_contracts():
    fields = AlertTermsInput().fields
    wording = fields["info"].child.fields
    assert {
        "restriction": fields["restriction"].max_length, "contact": fields["contact"].max_length,
        "web": fields["web"].max_length, "note": fields["note"].max_length,
        "address": fields["addresses"].child.max_length, "addresses": fields["addresses"].max_length,
        "headline": wording["headline"].max_length, "description": wording["description"].max_length,
        "instruction": wording["instruction"].max_length,
    } == {
        "restriction": contract.RESTRICTION_MAX_LENGTH, "contact": contract.CONTACT_MAX_LENGTH,
        "web": contract.WEB_MAX_LENGTH, "note": contract.NOTE_MAX_LENGTH, "address": contract.ADDRESS_MAX_LENGTH,
        "addresses": contract.MAX_ADDRESSES, "headline": contract.HEADLINE_MAX_LENGTH,
        "description": contract.DESCRIPTION_MAX_LENGTH, "instruction": contract.INSTRUCTION_MAX_LENGTH,
    }


def test_the_form_says_the_contracts_numbers_in_the_officers_language():
    from django.utils import translation

    with translation.override("zh-hans"):
        form = AlertTermsForm(data={"scope": "Private", "addresses": "\r\n".join(
            _addresses(contract.MAX_ADDRESSES + 1))})
        assert not form.is_valid()
        assert form.errors["addresses"] == [f"接收方最多 {contract.MAX_ADDRESSES} 个。"]
        form = AlertTermsForm(data={"scope": "Private", "addresses": "x" * (contract.ADDRESS_MAX_LENGTH + 1)})
        assert not form.is_valid()
        assert form.errors["addresses"] == [f"每个接收方最多 {contract.ADDRESS_MAX_LENGTH} 个字符。"]


def test_no_ui_module_imports_an_api_serializer():
    """An edge takes an input contract from its declaration, never from another edge."""
    found = []
    for path in sorted((ROOT / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            found += [f"{path.relative_to(ROOT)}: {name}" for name in names if ".api.serializers" in name]
    assert not found
