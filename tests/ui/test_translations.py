"""Every string of the UI is translated into Simplified Chinese, Traditional Chinese (Hong Kong,
Macao) and English, and the compiled catalogues (.mo, committed so the run command needs no
gettext) match their .po files. zh_Hant is made from zh_Hans (scripts/zh_hant_catalogue.py):
it must hold every entry zh_Hans holds."""

import ast
import gettext
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ["zh_Hans", "zh_Hant", "en"]


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgctxt, msgid, msgid_plural, msgstr / msgstr[n], flags."""
    entries, entry, key = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry and not entry.get("obsolete"):
                entries.append(entry)
            entry = None
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


def translations_of(entries: list[dict]) -> dict:
    """What a compiled catalogue must hold: msgid (with its context) -> msgstr, plurals as tuples."""
    catalogue = {}
    for entry in entries:
        if not entry["msgid"] or "fuzzy" in entry["flags"]:
            continue
        key = f"{entry['msgctxt']}\x04{entry['msgid']}" if "msgctxt" in entry else entry["msgid"]
        if "msgid_plural" in entry:
            forms = sorted((k, v) for k, v in entry.items() if k.startswith("msgstr["))
            for index, (_, value) in enumerate(forms):
                catalogue[(key, index)] = value
        else:
            catalogue[key] = entry["msgstr"]
    return catalogue


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_is_translated(locale):
    entries = po_entries(ROOT / "locale" / locale / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300
    untranslated = [entry["msgid"] for entry in entries[1:] if "fuzzy" in entry["flags"]
                    or not all(value for key, value in entry.items() if key.startswith("msgstr"))]
    assert untranslated == [], f"{locale}: translate these and run compilemessages (docs/ui.md, Translations)"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_compiled_catalogue_matches_its_po_file(locale):
    """A .po edited after its .mo was compiled (newer than it) fails here until it is compiled."""
    folder = ROOT / "locale" / locale / "LC_MESSAGES"
    expected = translations_of(po_entries(folder / "django.po"))
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    compiled = {key: value for key, value in compiled.items() if key != ""}
    assert compiled == expected, f"{locale}: run `python manage.py compilemessages` and commit the .mo"


# Strings marked for translation in the UI's own code and templates.
MARKED = [
    re.compile(r'{%\s*translate\s+"((?:[^"\\]|\\.)*)"'),
    re.compile(r"{%\s*translate\s+'((?:[^'\\]|\\.)*)'"),
    re.compile(r'(?<![\w.])(?:_|gettext|gettext_lazy)\(\s*"((?:[^"\\]|\\.)*)"'),
]


def ui_marked_strings() -> set[str]:
    found = set()
    for path in [*(ROOT / "ui").rglob("*.py"), *(ROOT / "ui" / "templates").rglob("*.html")]:
        text = path.read_text(encoding="utf-8")
        for pattern in MARKED:
            found |= {match.encode().decode("unicode_escape") if "\\" in match else match
                      for match in pattern.findall(text)}
    return found


def test_every_string_the_ui_marks_is_in_the_catalogues():
    """A new {% translate %} or _() that makemessages has not collected yet fails here."""
    marked = ui_marked_strings()
    assert len(marked) > 200
    for locale in LOCALES:
        known = {entry["msgid"] for entry in po_entries(ROOT / "locale" / locale / "LC_MESSAGES" / "django.po")}
        assert sorted(marked - known) == [], f"{locale}: run makemessages (docs/ui.md, Translations)"


def test_the_pages_use_the_catalogue(client, gba):
    from django.utils import translation

    with translation.override("zh-hans"):
        assert translation.gettext("Acknowledgements we owe") == "本辖区待确认事项"
        assert translation.ngettext("%(n)s incident", "%(n)s incidents", 3) % {"n": 3} == "3 起事件"
    with translation.override("zh-hant"):
        assert translation.gettext("Acknowledgements we owe") == "本轄區待確認事項"
        assert translation.ngettext("%(n)s incident", "%(n)s incidents", 3) % {"n": 3} == "3 起事件"
    with translation.override("en"):
        assert translation.gettext("Acknowledgements we owe") == "Acknowledgements we owe"


def entry_keys(locale: str) -> set[tuple[str, str]]:
    return {(entry.get("msgctxt", ""), entry["msgid"])
            for entry in po_entries(ROOT / "locale" / locale / "LC_MESSAGES" / "django.po")}


def test_the_traditional_catalogue_has_every_entry_of_the_simplified_one():
    """A string added to zh_Hans without running scripts/zh_hant_catalogue.py fails here."""
    missing = sorted(entry_keys("zh_Hans") - entry_keys("zh_Hant"))
    assert missing == [], "run `python scripts/zh_hant_catalogue.py` and compilemessages (docs/ui.md, Translations)"


def test_the_traditional_catalogue_is_what_the_script_makes():
    """zh_Hant is never edited by hand: the script (OpenCC, then its glossary) makes it whole."""
    pytest.importorskip("opencc", reason="OpenCC is in requirements-dev.txt")
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "zh_hant_catalogue.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_traditional_catalogue_writes_the_key_terms_as_hong_kong_and_macao_do():
    translations = translations_of(po_entries(ROOT / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"))
    text = "\n".join(value for value in translations.values())
    # The terms zh_Hans uses, in Traditional characters: 事件, 預警, 互助, 轄區, 聯合指揮部.
    for term in ("事件", "預警", "互助", "轄區", "聯合指揮部", "發布"):
        assert term in text, term
    # Simplified forms, or mainland words HK and Macao do not use, left behind by the conversion.
    for word in ("辖区", "预警", "联合", "发佈", "用户", "信息", "登錄", "默認", "點擊", "退出登入", "聯繫",
                 "審批併發布", "“", "”"):
        assert word not in text, word
    assert "「" in text  # corner brackets, as Hong Kong and Macao quote
