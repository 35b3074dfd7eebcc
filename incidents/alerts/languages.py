"""An alert's language blocks, and whether they still say the same thing.

A CAP message carries the alert once per language, each an <info> block of its own (zh-CN,
zh-HK, zh-MO, en-US). An officer who changes the Chinese headline of a draft and not the
English one leaves the message saying two things; nothing in the text tells which one is
current. So each draft keeps, per block, a fingerprint of its texts (headline, description,
instruction) as they were the last time the blocks were known to agree: when they were written
together (the draft), when an edit changed every block, or when the officer said so. A block
whose texts differ from its fingerprint was changed since; when some blocks were changed and
others not, the languages are out of step, and approving the draft asks for confirmation
(incidents.alerts.issuing.alert_approve).

Pure: texts in, fingerprints and a verdict out; the words a person reads come from the
translation catalogue, in the reader's language.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import gettext, pgettext, pgettext_lazy

TEXT_FIELDS = ("headline", "description", "instruction")

# The Traditional Chinese blocks and the jurisdictions whose readers read them: offered (empty,
# to fill) when one of these issues the alert or is affected by it. No automatic conversion
# from zh-CN: a conversion table is a dependency, and a converted warning still needs a reader
# of the place to check its words, so the block is the officer's to write.
TRADITIONAL = {"810000": "zh-HK", "820000": "zh-MO"}

# Named in the reader's language ("English" alone is the language switcher's own name for it).
LANGUAGE_NAMES = {
    "zh-CN": pgettext_lazy("alert language", "Chinese"),
    "zh-HK": pgettext_lazy("alert language", "Traditional Chinese (Hong Kong)"),
    "zh-MO": pgettext_lazy("alert language", "Traditional Chinese (Macao)"),
    "en-US": pgettext_lazy("alert language", "English"),
}


def language_name(language: str) -> str:
    return str(LANGUAGE_NAMES.get(language, language))


def traditional_languages(codes: Iterable[str]) -> list[str]:
    """The Traditional Chinese blocks the readers of these jurisdictions need (in CAP order)."""
    wanted = {TRADITIONAL[code] for code in codes if code in TRADITIONAL}
    return [language for language in ("zh-HK", "zh-MO") if language in wanted]


def fingerprint(*, headline: str | None, description: str | None, instruction: str | None) -> str:
    """The texts of one block, as one short value (whitespace at the ends does not count)."""
    texts = [(text or "").strip() for text in (headline, description, instruction)]
    return hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode()).hexdigest()[:32]


def fingerprints(infos: Iterable) -> dict[str, str]:
    """Each block's fingerprint by its language (cap.Info or AlertInfo rows)."""
    return {info.language: fingerprint(headline=info.headline, description=info.description,
                                       instruction=info.instruction) for info in infos}


@dataclass(frozen=True)
class LanguageState:
    """Which blocks were changed since the blocks last agreed, and which not."""

    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def in_step(self) -> bool:
        # Both changed, or neither: in step. A block written since (no fingerprint) counts
        # as neither: adding the Hong Kong block is not a drift of the others.
        return not (self.changed and self.unchanged)

    def message(self) -> str:
        """"Chinese changed, English not changed", in the reader's language; "" when in step."""
        if self.in_step:
            return ""
        separator = pgettext("list separator", ", ")
        return gettext("%(changed)s changed, %(unchanged)s not changed") % {
            "changed": separator.join(language_name(language) for language in self.changed),
            "unchanged": separator.join(language_name(language) for language in self.unchanged),
        }


def language_state(*, agreed: Mapping[str, str], infos: Iterable) -> LanguageState:
    """Compare the blocks as they are with their fingerprints at the last agreement."""
    changed, unchanged = [], []
    for language, current in fingerprints(infos).items():
        if language not in agreed:
            continue
        (unchanged if agreed[language] == current else changed).append(language)
    return LanguageState(tuple(changed), tuple(unchanged))


def agreement_after_edit(*, agreed: Mapping[str, str], infos: list, languages_agree: bool) -> dict[str, str]:
    """The fingerprints to keep after an edit: the blocks as they are now when they are in step
    (or the officer says they agree); else the old agreement, so the drift stays visible."""
    if languages_agree or language_state(agreed=agreed, infos=infos).in_step:
        return fingerprints(infos)
    return dict(agreed)
