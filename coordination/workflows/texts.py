"""Texts a person reads that a playbook writes (task titles, agenda items, notify messages,
alert headlines and instructions, reasons), in the reader's language.

A playbook gives such a text either as a plain string (a hand-written playbook: shown as is,
in every language) or in three languages:

    {"zh-hans": "每小时共享水位、雨量和台风路径", "zh-hant": "每小時共享水位、雨量和颱風路徑",
     "en": "Share water levels, rainfall and the typhoon track every hour"}

zh-hans and en are required (the two languages every member writes in); zh-hant may be left
out, a Traditional reader then reads the Simplified. What a run creates from such a text keeps
the dict (Task.title_texts, AgendaItem.title_texts, a step's outcome), so each reader reads it
in their own language through `localized`, the one reader of these texts.
"""

from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

LANGUAGES = ("zh-hans", "zh-hant", "en")
REQUIRED = ("zh-hans", "en")
# The script a Chinese reader reads in, by the language code Django or a CAP block uses.
_TRADITIONAL = ("zh-hant", "zh-hk", "zh-mo", "zh-tw")


def text_type(max_length: int, min_length: int = 0):
    """The pydantic type of a playbook text of at most `max_length` characters (in each
    language). One validator for both forms, so a problem is reported once, at the text's path."""

    def checked(value: Any) -> Any:
        if isinstance(value, str):
            _length(value, min_length, max_length)
            return value
        if not isinstance(value, dict):
            raise ValueError("a text is a string or {\"zh-hans\": …, \"zh-hant\": …, \"en\": …}")
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            raise ValueError(f"unknown languages {unknown}; a text is given in {', '.join(LANGUAGES)}")
        if not all(isinstance(text, str) for text in value.values()):
            raise ValueError("each language's text is a string")
        missing = [language for language in REQUIRED if not value.get(language, "").strip()]
        if missing:
            raise ValueError(f"the text has no {' and no '.join(missing)}; give zh-hans and en (and zh-hant)")
        for text in value.values():
            _length(text, 1, max_length)
        return dict(value)

    return Annotated[Any, AfterValidator(checked), WithJsonSchema({"anyOf": [
        {"type": "string", "maxLength": max_length},
        {"type": "object", "required": list(REQUIRED), "additionalProperties": False,
         "properties": {language: {"type": "string", "maxLength": max_length} for language in LANGUAGES}},
    ]})]


def _length(text: str, least: int, most: int) -> None:
    if len(text) < least:
        raise ValueError("the text is empty")
    if len(text) > most:
        raise ValueError(f"the text is longer than {most} characters")


def language_key(language: str | None) -> str:
    """zh-hans, zh-hant or en for a Django language code (zh-hant, zh-hans, en) or a CAP one (zh-CN, en-US)."""
    code = (language or "").lower()
    if code.startswith(_TRADITIONAL):
        return "zh-hant"
    if code.startswith("zh"):
        return "zh-hans"
    return "en"


def localized(text: Any, language: str | None) -> str:
    """The text in `language`: a plain string as it is; a dict's entry in that language, a
    Traditional reader falling back to Simplified, anyone to English, then to whatever is there.
    An older pair {"zh": …, "en": …} reads the same way."""
    if text is None:
        return ""
    if not isinstance(text, dict):
        return str(text)
    key = language_key(language)
    order = {"zh-hant": ("zh-hant", "zh-hans", "zh"), "zh-hans": ("zh-hans", "zh", "zh-hant")}.get(key, ())
    for candidate in (*order, "en", "zh-hans", "zh"):
        if text.get(candidate):
            return str(text[candidate])
    return next((str(value) for value in text.values() if value), "")


def plain(text: Any) -> str:
    """The one-language text kept in a CharField beside the dict (the API's `title`, search,
    the admin): the English of a dict, a plain string as it is."""
    return localized(text, "en")


def texts_of(text: Any) -> dict:
    """What a row keeps of a playbook text: the dict, or {} for a plain string (the row's own
    CharField then says it all)."""
    return dict(text) if isinstance(text, dict) else {}


def pair(text: Any) -> Any:
    """A text as a timeline note's parameter: the timeline reads a {"zh": …, "en": …} pair,
    with the "zh-hant" a Traditional reader reads when the text gives one; a plain string
    stays a string."""
    if not isinstance(text, dict):
        return text
    names = {"zh": localized(text, "zh-hans"), "en": localized(text, "en")}
    if text.get("zh-hant"):
        names["zh-hant"] = str(text["zh-hant"])
    return names
