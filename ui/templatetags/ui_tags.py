"""Template filters and tags of the UI: names, levels, drills, dates and numbers in the
officer's language and the cluster's time zone."""

from django import template
from django.utils import formats, numberformat
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from coordination.workflows import texts
from coordination.workflows.models import TaskStatus
from incidents import contract
from incidents.alerts.links import is_web_page
from incidents.lifecycle import Status
from sharing.mutualaid.lifecycle import RequestStatus
from ui import conf, dates, labels, registry, timeline

register = template.Library()

# Moments (ui.dates), the same in templates as in the timeline.
register.filter("when", dates.when)
register.filter("when_full", dates.when_full)
register.filter("iso", dates.iso)


@register.simple_tag
def transition_note_max() -> int:
    """The lifecycle note's limit, from the incidents' input contract (the API's, so the page
    never offers less or more than the server accepts)."""
    return contract.NOTE_MAX_LENGTH


@register.simple_tag
def drill_speed() -> str:
    """What the page frame says when deadlines do not run as the playbooks say (DEADLINE_SCALE
    is not 1), in the reader's language; "" when they do."""
    scale = conf.deadline_scale()
    if scale == 1:
        return ""
    ratio = 1 / scale if scale < 1 else scale
    factor = num(round(ratio)) if abs(ratio - round(ratio)) < 0.05 else formats.number_format(ratio, 1)
    if scale < 1:
        return _("Drill speed: deadlines run %(factor)s× faster than the playbooks say.") % {"factor": factor}
    return _("Slowed down: deadlines run %(factor)s× slower than the playbooks say.") % {"factor": factor}


@register.filter
def num(value) -> str:
    """A number grouped by thousands (12,345) with the language's decimal sign. Django's Chinese
    formats group nothing; GB/T 15835 allows the comma, and 2,000,000 is read at a glance."""
    if value is None or value == "":
        return ""
    return numberformat.format(value, formats.get_format("DECIMAL_SEPARATOR"), grouping=3, thousand_sep=",",
                               force_grouping=True, use_l10n=True)


def _code(value) -> str:
    return str(getattr(value, "pk", value))  # a code, or a Jurisdiction row


@register.filter
def jname(code) -> str:
    """A jurisdiction's name in the officer's language."""
    return registry.place_name(_code(code)) if code else ""


@register.filter
def jnames(codes) -> str:
    separator = "、" if labels._zh() else ", "
    return separator.join(registry.place_name(_code(code)) for code in codes or ())


@register.filter
def category_label(code) -> str:
    return labels.category_label(code)


@register.simple_tag
def type_label(category, code) -> str:
    return labels.type_label(category, code)


@register.filter
def status_label(code) -> str:
    try:
        return Status(code).label
    except ValueError:
        return code


@register.filter
def event_label(name) -> str:
    return labels.EVENT_LABELS.get(name, name)


@register.filter
def timeline_kind(code) -> str:
    return labels.TIMELINE_KINDS.get(code, code)


@register.filter
def step_kind(code) -> str:
    return labels.STEP_KINDS.get(code, code)


@register.filter
def figure_label(code) -> str:
    return labels.FIGURES.get(code, code)


@register.filter
def sensitive_label(code) -> str:
    return labels.SENSITIVE_FIELD_LABELS.get(code, code)


@register.filter
def choice_label(value, choices) -> str:
    """The label of a TextChoices value (`{{ x.status|choice_label:statuses }}`)."""
    try:
        return choices(value).label
    except ValueError:
        return value


@register.simple_tag
def level_badge(level, short=False):
    """The level as colour and words: the colour alone tells a colour-blind officer nothing."""
    if level not in labels.LEVEL_LABELS:
        return ""
    text = labels.LEVEL_SHORT[level] if short else labels.LEVEL_LABELS[level]
    return format_html('<span class="lvl lvl-{}" data-level="{}">{}</span>', level, level, text)


@register.simple_tag
def web_link(address):
    """An alert's web page as a link when it is one (incidents.alerts.links); anything else an
    older import may hold (javascript:, data:) is shown as text, never as a link."""
    if not address:
        return ""
    if not is_web_page(address):
        return format_html('<span class="muted" title="{}">{}</span>', _("Not a web address: not linked"), address)
    return format_html('<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>', address.strip(),
                       address)


@register.simple_tag
def exercise_badge(exercise):
    """Drills (演练) are marked wherever they appear."""
    if not exercise:
        return ""
    return format_html('<span class="exercise" title="{}">{}</span>', _("An exercise, not a real incident"),
                       _("Exercise"))


@register.filter
def level_short(level) -> str:
    return str(labels.LEVEL_SHORT.get(level, level))


@register.filter
def localname(obj) -> str:
    """`name_zh`, `name_zh_hant` (a Traditional reader's, where the row has one) or `name_en`
    of a registry or catalogue row, as the officer reads."""
    if isinstance(obj, dict):
        return labels.name_of({"zh": obj.get("name_zh") or obj.get("zh"), "en": obj.get("name_en") or obj.get("en"),
                               "zh-hant": obj.get("name_zh_hant") or obj.get("zh-hant")})
    return labels.name_of({"zh": getattr(obj, "name_zh", ""), "en": getattr(obj, "name_en", ""),
                           "zh-hant": getattr(obj, "name_zh_hant", "")}, str(obj))


@register.filter
def resource_label(code) -> str:
    rtype = registry.resource_type(code)
    return labels.name_of({"zh": rtype.name_zh, "en": rtype.name_en}, code) if rtype else code


@register.filter
def unit_label(code) -> str:
    return registry.unit_name(code)


@register.filter
def task_status(code) -> str:
    try:
        return TaskStatus(code).label
    except ValueError:
        return code


@register.filter
def task_move(code) -> str:
    return str(labels.TASK_MOVE_BUTTONS.get(code, code))


@register.filter
def request_status(code) -> str:
    try:
        return RequestStatus(code).label
    except ValueError:
        return code


@register.filter
def cap_word(value) -> str:
    """A CAP value (scope, message type, status) in the officer's words."""
    return labels.cap_word(value)


@register.filter
def response_type(code) -> str:
    return str(labels.RESPONSE_TYPES.get(code, code))


@register.simple_tag
def alert_headline(view) -> str:
    """An alert's headline in the officer's language when it has a block in it (ours have
    zh-CN and en-US), else its first."""
    info = labels.in_my_language(view.message.infos)
    return (info.headline or info.event) if info else view.alert.identifier


@register.filter
def local_name(name) -> str:
    """A name a playbook gave ("Joint command: …") in the officer's language."""
    return timeline.local_name(name or "")


@register.filter
def localized(text) -> str:
    """A text the system wrote in several languages, in the officer's: a playbook's (a task's or
    agenda item's title_text, a notify message; coordination.workflows.texts), a default name
    ("Situation: …"), a demo depot's or demo officer's name (registry.demo_name); any other
    string as written."""
    if isinstance(text, dict):
        return texts.localized(text, get_language())
    return registry.demo_name(timeline.local_name(text or ""))
