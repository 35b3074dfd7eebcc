"""What a notification says, rendered when it is sent (docs/notifications.md, "Rendering").

A row keeps a reason code and parameters, never text: the message is rendered from them, the
incident and the acknowledgement as they are at sending time, in the recipient's language,
with Django's template engine. Templates are looked up per reason and channel
(`notify/<reason>/<channel>_<kind>.txt`, then `notify/<reason>/<kind>.txt`, then
`notify/default/<kind>.txt`; the kinds: subject, email, sms, robot for the three group robots'
Markdown, push), and rendered with the reader's language active, so `{% translate %}` in them
speaks it.

Every message names the incident's public id, what is asked, the deadline (in the cluster's
time zone and the reader's language) and the acknowledgement link, within its channel's limit:
an SMS is kept to two segments (SMS_SEGMENTS), in the longest of its wordings that fits
(SMS_DETAIL: the title goes first, then who asks), and only then by cutting the words before
the link (never the link).
"""

import uuid
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.template.loader import select_template
from django.utils import formats, translation
from django.utils.translation import gettext, gettext_noop

from coordination.notify.lifecycle import Reason
from coordination.notify.links import link_for
from coordination.notify.providers.replies import reply_code_for
from coordination.people.selectors import language_of
from coordination.registry import registry

LANGUAGES = ("zh-hans", "zh-hant", "en")
# Hong Kong and Macao read Traditional Chinese; the rest of the cluster Simplified.
TRADITIONAL_JURISDICTIONS = frozenset({"810000", "820000"})

KIND = {"email": "email", "sms": "sms", "wecom": "robot", "dingtalk": "robot", "feishu": "robot",
        "webpush": "push"}
# The longest text each kind takes (characters); e-mail has none. A robot's Markdown message
# is bounded by the services (WeCom: 4,096 bytes); a push payload by the push services (4 KB,
# encrypted) and by what a notification shows.
LIMITS = {"robot": 1300, "push": 240}
SUBJECT_LIMIT = 120
SMS_SEGMENTS = 2

# What is asked, per reason: the one sentence every channel's template puts in its own words around.
ASKS = {
    Reason.ACK_REQUESTED: gettext_noop("%(asker)s asks %(jurisdiction)s to acknowledge incident %(incident)s"),
    Reason.ACK_IN_PLACE: gettext_noop(
        "%(asker)s asks %(jurisdiction)s to acknowledge incident %(incident)s in place of %(silent)s"),
}
DATE_FORMATS = {"zh": "n月j日 H:i", "en": "j M H:i"}


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    link: str
    language: str
    extra: dict = field(default_factory=dict)


def language_for(*, jurisdiction: str | None, chosen: str = "") -> str:
    """The language a person reached for `jurisdiction` reads: the one they chose for their
    messages (coordination.people: /me/contact-methods/), else their jurisdiction's:
    Traditional Chinese for Hong Kong and Macao, Simplified elsewhere."""
    if chosen in LANGUAGES:
        return chosen
    return "zh-hant" if jurisdiction in TRADITIONAL_JURISDICTIONS else "zh-hans"


def language_of_row(notification) -> str:
    """The language a row's message is written in, when it is written: the recipient's choice as
    it is now (a choice made after the request was written still applies), else the language
    the row was written with (their home jurisdiction's: a body's officers come from several),
    else the jurisdiction reached for's."""
    chosen = language_of(notification.recipient) if notification.recipient_id else ""
    written = (notification.params or {}).get("language") or ""
    return language_for(jurisdiction=notification.jurisdiction_id, chosen=chosen or written)


def place_name(code: str | None, language: str) -> str:
    if not code:
        return ""
    zh, en = registry().names.get(code, (code, code))
    return en if language == "en" else zh


def body_name(code: str | None, language: str) -> str:
    if not code:
        return ""
    zh, en = registry().bodies.get(code, (code, code))
    return en if language == "en" else zh


def moment(value: datetime | None, *, zone: zoneinfo.ZoneInfo, language: str) -> str:
    """A deadline as the reader reads it: in the cluster's zone, "12月7日 05:30" or "7 Dec 05:30"."""
    if value is None:
        return ""
    with translation.override(language):
        return formats.date_format(value.astimezone(zone), DATE_FORMATS["en" if language == "en" else "zh"])


def zone_label(value: datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    if value is None:
        return ""
    offset = value.astimezone(zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def context_for(notification, *, language: str) -> dict:
    """What every template of a reason reads: the incident, what is asked, the deadline, the link."""
    incident = notification.incident
    ack = notification.acknowledgement
    cluster = incident.cluster_id
    zone = registry().zone(cluster)
    params = notification.params or {}
    due = ack.due_at if ack is not None else None
    names = {
        "asker": place_name(params.get("asker") or incident.reporting_jurisdiction_id, language),
        "jurisdiction": (body_name(notification.body_id, language) if notification.body_id
                         else place_name(notification.jurisdiction_id, language)),
        "silent": place_name(params.get("silent"), language),
        "incident": incident.public_id,
    }
    with translation.override(language):
        asks = gettext(ASKS.get(notification.reason, ASKS[Reason.ACK_REQUESTED])) % names
        level = gettext("level %(level)s") % {"level": incident.level}
    return {
        **names,
        "asks": asks,
        "public_id": incident.public_id,
        "title": incident.title,
        "level": level,
        "exercise": incident.exercise,
        "deadline": moment(due, zone=zone, language=language),
        "zone": zone_label(due, zone),
        "link": link_for(notification.pk),
        "language": language,
        "detail": "full",
        # An SMS can be answered by replying with its code where the provider hands us replies
        # (docs/providers.md, "SMS replies"): the gateway, and Tencent with its callbacks enabled.
        "reply_code": reply_code_for(notification.pk) if notification.channel == "sms" and replies_taken() else "",
    }


def replies_taken() -> bool:
    """Whether an SMS reply comes back to us: through the SMS gateway's signed callback, or
    Tencent's reply callback (only with TENCENT_SMS_CALLBACK_TOKEN set: without it the endpoint
    is off)."""
    return settings.SMS_PROVIDER == "gateway" or (
        settings.SMS_PROVIDER == "tencent" and bool(settings.TENCENT_SMS_CALLBACK_TOKEN))


def _template(notification, name: str):
    reason = notification.reason.replace(".", "_")
    return select_template([f"notify/{reason}/{notification.channel}_{name}", f"notify/{reason}/{name}",
                            f"notify/default/{name}"])


def _render(notification, name: str, context: dict) -> str:
    return _template(notification, name).render(context).strip()


def render(notification, *, language: str | None = None) -> Rendered:
    """The message for one row (its incident, acknowledgement and recipient loaded), in its
    recipient's language (language_of_row), or in `language` (the template preview's)."""
    if language not in LANGUAGES:
        language = language_of_row(notification)
    context = context_for(notification, language=language)
    kind = KIND[notification.channel]
    with translation.override(language):
        subject = " ".join(_render(notification, "subject.txt", context).split())[:SUBJECT_LIMIT]
        text = _render(notification, f"{kind}.txt", context)
        if kind == "sms":
            text = _fit_sms(notification, context, text)
        elif kind in LIMITS and len(text) > LIMITS[kind]:
            text = _shorten(text, context["link"], LIMITS[kind])
    return Rendered(subject=subject, text=text, link=context["link"], language=language)


# --- SMS length ------------------------------------------------------------------------------------

# The GSM 03.38 basic character set: a message only of these (and of the extension table's,
# which take two septets each) is sent in 7-bit segments (160 septets, 153 when concatenated);
# any other character makes it UCS-2 (70 characters, 67).
_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
           "¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXTENSION = set("^{}\\[~]|€")


def _units(text: str) -> tuple[int, bool]:
    """(length in the units segments are counted in, whether it is GSM 7-bit)."""
    if all(char in _GSM or char in _GSM_EXTENSION for char in text):
        return sum(2 if char in _GSM_EXTENSION else 1 for char in text), True
    return len(text), False


def sms_fits(text: str, segments: int = SMS_SEGMENTS) -> bool:
    units, gsm = _units(text)
    single, part = (160, 153) if gsm else (70, 67)
    return units <= (single if segments == 1 else part * segments)


def sms_segments(text: str) -> int:
    units, gsm = _units(text)
    single, part = (160, 153) if gsm else (70, 67)
    return 1 if units <= single else -(-units // part)


# An SMS's wordings, longest first: with the title, without it, and the least that still says
# what is asked of whom by when.
SMS_DETAIL = ("full", "brief", "minimal")


def _fit_sms(notification, context: dict, text: str) -> str:
    for detail in SMS_DETAIL[1:]:
        if sms_fits(text):
            return text
        text = _render(notification, "sms.txt", {**context, "detail": detail})
    if sms_fits(text):
        return text
    # Cut the words before the link until it fits (a character at a time: the units differ by alphabet).
    link = context["link"]
    limit = len(text)
    while limit > len(link) and not sms_fits(text):
        limit -= 1
        text = _shorten(text, link, limit)
    return text


def _shorten(text: str, link: str, limit: int) -> str:
    """Cut the words before the link so that the whole fits in `limit`; the link stays whole."""
    if link and link in text:
        head, tail = text.split(link, 1)
        room = limit - len(link) - len(tail)
        if room > 1:
            return head[: room - 1].rstrip() + "…" + link + tail
        return link[:limit]
    return text[: limit - 1] + "…"


# --- previews (the UI's message template preview) ----------------------------------------------------

# What a preview shows, per channel: the group robots share one template (their Markdown), so
# WeCom stands for the three.
PREVIEW_CHANNELS = ("email", "sms", "wecom", "webpush")
SMS_SEGMENT = {"ucs2": (70, 67), "gsm": (160, 153)}  # one segment; each part of a longer message


@dataclass(frozen=True)
class SmsLength:
    units: int  # characters (septets for the GSM alphabet)
    segments: int
    alphabet: str  # "ucs2" (any Chinese character) or "gsm"
    single: int  # what one segment holds: 70 (ucs2) or 160 (gsm)
    fits: bool  # within SMS_SEGMENTS, as every SMS is kept


def sms_length(text: str) -> SmsLength:
    units, gsm = _units(text)
    alphabet = "gsm" if gsm else "ucs2"
    return SmsLength(units=units, segments=sms_segments(text), alphabet=alphabet,
                     single=SMS_SEGMENT[alphabet][0], fits=sms_fits(text))


def preview(*, reason: str, channel: str, language: str, cluster: str | None, asker: str, jurisdiction: str,
            silent: str | None, title: str, level: str, due_at: datetime) -> Rendered:
    """A message as `render` writes it, for sample data: an incident and a request that are not
    stored (nothing is written, nobody is sent anything). The template preview's one call."""
    from coordination.notify.models import Notification
    from coordination.workflows.models import Acknowledgement
    from incidents.models import Incident

    incident = Incident(pk=0, public_id="INC-2026-000123", title=title, level=level, cluster_id=cluster,
                        reporting_jurisdiction_id=asker, exercise=False)
    params = {"asker": asker, **({"silent": silent} if silent else {})}
    row = Notification(id=uuid.UUID(int=0), incident=incident, acknowledgement=Acknowledgement(due_at=due_at),
                       reason=reason, params=params, jurisdiction_id=jurisdiction, channel=channel)
    return render(row, language=language)


@dataclass(frozen=True)
class StepPreview:
    index: int  # the step's place in the playbook (1 first)
    kind: str  # request_ack or escalate
    reason: str
    deadline: timedelta  # the step's deadline at the sample's level (playbook time, unscaled)
    messages: dict  # {language: {channel: (Rendered, SmsLength | None)}}


def playbook_previews(definition: dict, *, cluster: str | None, asker: str, jurisdiction: str, silent: str,
                      level: str, title: str, now: datetime) -> list[StepPreview]:
    """Every message a playbook's steps send, per channel and language, for sample data: a
    `request_ack` step's request, and the request in a silent jurisdiction's place its
    escalation makes (also an `escalate` step's), each with the step's deadline at `level`."""
    from coordination.workflows.definitions import escalation_of, step_of

    previews = []
    for index, data in enumerate(definition.get("steps") or [], start=1):
        step = step_of(data)
        if step.kind == "request_ack":
            kinds = [(Reason.ACK_REQUESTED, step.deadline.seconds(level)),
                     (Reason.ACK_IN_PLACE, escalation_of(definition).seconds(level))]
        elif step.kind == "escalate":
            kinds = [(Reason.ACK_IN_PLACE, escalation_of(definition).seconds(level))]
        else:
            continue
        for reason, seconds in kinds:
            due = now + timedelta(seconds=seconds)
            messages = {}
            for language in LANGUAGES:
                messages[language] = {}
                for channel in PREVIEW_CHANNELS:
                    rendered = preview(reason=reason, channel=channel, language=language, cluster=cluster,
                                       asker=asker, jurisdiction=jurisdiction,
                                       silent=silent if reason == Reason.ACK_IN_PLACE else None,
                                       title=title, level=level, due_at=due)
                    messages[language][channel] = (rendered, sms_length(rendered.text) if channel == "sms" else None)
            previews.append(StepPreview(index=index, kind=step.kind, reason=reason,
                                        deadline=timedelta(seconds=seconds), messages=messages))
    return previews
