"""Moments as the officer reads them: in the cluster's time zone and the officer's language.

Templates take these through the `when`, `when_full` and `iso` filters (ui.templatetags.ui_tags);
the timeline (ui.timeline) writes a playbook's and mutual aid's times with `when` too, so both
read alike. The page scripts write the same formats (ui/static/ui/js/common.js, formatMoment:
the live feed's lines and the header clock); tests/ui/test_dates_js.py holds the two together.
Both Chinese scripts share one format (zh-hant too: the browser's zh-HK order would be 7/12).
"""

from datetime import datetime

from django.utils import formats, timezone

from ui import labels

DATE_FORMATS = {
    # (full, short): the short form drops the year, for what happened this year.
    "zh": ("Y年n月j日 H:i", "n月j日 H:i"),
    "en": ("j M Y, H:i", "j M, H:i"),
}


def _formats() -> tuple[str, str]:
    return DATE_FORMATS["zh"] if labels._zh() else DATE_FORMATS["en"]


def _moment(value) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return timezone.localtime(value) if timezone.is_aware(value) else value


def when(value) -> str:
    """A moment in the cluster's time zone, in the officer's language (without the year when
    it is this year's)."""
    moment = _moment(value)
    if moment is None:
        return ""
    full, short = _formats()
    return formats.date_format(moment, short if moment.year == timezone.localtime().year else full)


def when_full(value) -> str:
    moment = _moment(value)
    return formats.date_format(moment, _formats()[0]) if moment else ""


def iso(value) -> str:
    """For <time datetime> and the scripts (countdowns)."""
    moment = _moment(value)
    return moment.isoformat() if moment else ""
