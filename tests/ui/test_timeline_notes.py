"""The workflows' timeline notes (coordination.workflows.timeline: a message code and its
parameters in the entry's data, English in its text) are shown on the incident's page in the
officer's language, with jurisdictions, playbooks, times and statuses in its words."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, HUIZHOU, SHENZHEN
from tests.ui.conftest import cross_border_area

pytestmark = pytest.mark.django_db


def write(incident, code: str, **params):
    from coordination.workflows.timeline import Note, timeline_note
    from incidents.models import TimelineEntry

    timeline_note(incident=incident.public_id, note=Note(code, params), at=timezone.now())
    return TimelineEntry.objects.filter(incident=incident, kind="workflow").latest("id")


def timeline_of(client, incident) -> str:
    """The timeline section of the incident's page."""
    response = client.get(f"/incidents/{incident.public_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="incident-timeline"')
    return html[start:html.index("</section>", start)]


def test_a_note_is_stored_as_code_and_params_with_its_english_text(reported):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    entry = write(incident, "ack.received", jurisdiction=DONGGUAN)
    assert entry.data == {"code": "ack.received", "params": {"jurisdiction": DONGGUAN}}
    assert entry.text == f"{DONGGUAN} acknowledged."
    assert entry.author_jurisdiction == "" or entry.author_jurisdiction is None  # the engine, on its own


def test_a_note_is_shown_in_chinese_or_english_with_the_jurisdictions_name(browse_as, reported):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    write(incident, "ack.received", jurisdiction=DONGGUAN)

    chinese = timeline_of(browse_as(SHENZHEN, language="zh-hans"), incident)
    assert "东莞市已确认收到。" in chinese
    assert "acknowledged" not in chinese and DONGGUAN not in chinese

    english = timeline_of(browse_as(SHENZHEN, language="en"), incident)
    assert "Dongguan acknowledged." in english
    assert "已确认收到" not in english and DONGGUAN not in english

    # The live parts the stream refreshes say the same.
    parts = browse_as(SHENZHEN, language="en").get(f"/incidents/{incident.public_id}/parts/").content.decode()
    assert "Dongguan acknowledged." in parts


def test_the_language_switch_changes_the_notes_language(browse_as, reported):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    write(incident, "ack.overdue", jurisdiction=DONGGUAN)
    client = browse_as(DONGGUAN, language="zh-hans")  # affected: it sees the incident
    assert "东莞市" in timeline_of(client, incident)
    page = f"/incidents/{incident.public_id}/"
    response = client.post("/i18n/setlang/", {"language": "en", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    assert client.cookies["django_language"].value == "en"
    english = timeline_of(client, incident)
    assert "Dongguan has not acknowledged by the deadline." in english and "东莞市" not in english
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": page})
    assert "Dongguan" not in timeline_of(client, incident)


def test_lists_nested_notes_times_statuses_and_playbooks_are_in_the_officers_words(browse_as, reported,
                                                                                     playbooks):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    due = timezone.localtime(timezone.now() + timedelta(minutes=30),
                             timezone.get_fixed_timezone(8 * 60)).replace(second=0, microsecond=0)
    asked = write(incident, "step.asked", playbook="cross-border-flood-typhoon",
                  jurisdictions=[DONGGUAN, HUIZHOU], due=due.isoformat())
    from coordination.workflows.timeline import Note

    write(incident, "escalation.duty_officers", jurisdiction=SHENZHEN, stage=1,
          reason=Note("reason.not_acknowledged", {"jurisdiction": DONGGUAN, "asked_at": due.isoformat()}))
    write(incident, "run.stopped", playbook="cross-border-flood-typhoon",
          reason=Note("reason.incident_status", {"status": "closed"}))
    assert asked.text.startswith("Playbook cross-border-flood-typhoon: asked 441900, 441300 to acknowledge by ")

    chinese = timeline_of(browse_as(SHENZHEN, language="zh-hans"), incident)
    assert "预案“跨界洪涝台风联防联控预案”：已请东莞市、惠州市于 " in chinese
    assert "已上报深圳市值班人员（第 1 级）：东莞市未确认收到（请求时间 " in chinese
    assert "预案“跨界洪涝台风联防联控预案”已终止：事件状态为已关闭。" in chinese
    assert due.isoformat() not in chinese and "cross-border-flood-typhoon" not in chinese

    english = timeline_of(browse_as(SHENZHEN, language="en"), incident)
    assert "Playbook Cross-border flood and typhoon: asked Dongguan, Huizhou to acknowledge by " in english
    assert "Escalated to the duty officers of Shenzhen (stage 1): Dongguan has not acknowledged (asked at " in english
    assert "Playbook Cross-border flood and typhoon stopped: the incident is Closed." in english
    assert due.isoformat() not in english


def test_a_note_whose_params_no_longer_fit_is_shown_in_its_english_text(browse_as, reported):
    from incidents.models import TimelineEntry

    incident = reported(SHENZHEN, level="II")
    entry = write(incident, "ack.received", jurisdiction=DONGGUAN)
    # Written before the message changed: a parameter it no longer has.
    TimelineEntry.objects.filter(pk=entry.pk).update(data={"code": "ack.received", "params": {"who": DONGGUAN}},
                                                     text="Dongguan said it has it.")
    assert "Dongguan said it has it." in timeline_of(browse_as(SHENZHEN), incident)
