"""The duty officer's inbox (待办) on the dashboard (ui.inbox, fragments/owed.html): each kind of
thing a jurisdiction owes reaches that jurisdiction and no other, soonest deadline first, in the
reader's language without codes or ISO times; an acknowledgement is answered in place with a
comment that reaches the timeline; the menu counts it; the query count does not grow with it."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, SHENZHEN, ZHAOQING
from tests.ui.conftest import cross_border_area
from tests.ui.test_timeline_notes import timeline_of

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
COMMITTEE = "GBA-COMMITTEE"
GUANGDONG = "440000"  # the province: in no cluster, seated on the committee below
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
PLAYBOOK = json.loads((ROOT / "coordination" / "workflows" / "playbooks" / "cross-border-flood-typhoon.json")
                      .read_text(encoding="utf-8"))
WARNING = PLAYBOOK["definition"]["steps"][0]["message"]["en"]
# Codes that must never reach the page as text: kinds, categories, resources, jurisdictions, the cluster.
CODES = re.compile(r"alert_approval|natural_disaster|rescue_boat|\b440300\b|\b441900\b|\bGBA\b")


def fragment(client):
    response = client.get("/fragments/owed/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response


def visible_text(html: str) -> str:
    """What a reader sees of the fragment: the text, without tags and their attributes."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def playbook_texts() -> list[str]:
    """The shipped playbook's own texts, English-only today (their translation is another item)."""
    texts = []
    for step in PLAYBOOK["definition"]["steps"]:
        texts += [step.get("message", ""), step.get("headline", ""), *(task["title"] for task in step.get("tasks", ())),
                  *step.get("agenda", ())]
    texts = [text["en"] if isinstance(text, dict) else text for text in texts]
    return sorted((text for text in texts if text), key=len, reverse=True)


@pytest.fixture
def flood(reported, run_playbooks):
    """Shenzhen reports a level II flood that crosses into Dongguan; the playbook runs: it tells
    the neighbours, asks Dongguan to acknowledge, opens a joint command with tasks, convenes the
    committee and drafts Shenzhen's public alert."""
    incident = reported(SHENZHEN, level="II", title="观澜河水位超警戒", affected_area=cross_border_area())
    run_playbooks()
    return incident


@pytest.fixture
def flood_acknowledged(flood, principal_for, run_playbooks):
    """Dongguan acknowledges: the playbook goes on past its wait and drafts Shenzhen's alert."""
    from coordination.workflows.models import Acknowledgement
    from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge

    ack = Acknowledgement.objects.get(incident_id=flood.public_id, jurisdiction_id=DONGGUAN, escalation_of=None)
    acknowledgement_acknowledge(actor=principal_for(DONGGUAN, role="operator"), acknowledgement_id=ack.pk)
    run_playbooks()
    return flood


@pytest.fixture
def aid(gba, browse_as, reported):
    """Shenzhen asks for 4 rescue boats; Dongguan holds 6."""
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType
    from sharing.mutualaid.services.inventories import inventory_upsert
    from sharing.mutualaid.services.requests import resource_request_create

    load_catalogue(ResourceType)
    inventory_upsert(actor=None, jurisdiction=DONGGUAN, data={"resource_type": "rescue_boat", "on_hand": 6})
    incident = reported(SHENZHEN, level="III", title="坪山河洪水")
    request = resource_request_create(actor=browse_as(SHENZHEN, "commander").principal, data={
        "incident": incident.public_id, "resource_type": "rescue_boat", "quantity": 4,
        "needed_by": timezone.now() + timedelta(hours=3)})
    return incident, request


# --- who owes what ------------------------------------------------------------------------------------


def test_the_notified_and_asked_jurisdiction_sees_what_it_owes_and_reads_its_message(browse_as, flood):
    items = fragment(browse_as(DONGGUAN, "operator", language="en")).context["inbox"]
    kinds = {item.kind for item in items}
    assert {"acknowledgement", "task", "meeting", "notice"} <= kinds, kinds
    assert "alert_approval" not in kinds and "offer" not in kinds
    assert all(item.incident_id == flood.public_id for item in items)
    ack = next(item for item in items if item.kind == "acknowledgement")
    assert ack.ack.jurisdiction_id == DONGGUAN and ack.due_at == ack.ack.due_at
    assert ack.asked == "Shenzhen reported it: acknowledge that we have received it."
    # The notify step's own words reach the jurisdiction it told (as the playbook writes them).
    notices = [item.asked for item in items if item.kind == "notice"]
    assert f"The playbook tells us: {WARNING}" in notices
    tasks = [item for item in items if item.kind == "task"]
    assert tasks and all(item.asked.startswith("The joint command gave us a task: ") for item in tasks)
    assert all(item.link == "/command/#tasks-title" for item in tasks)


def test_items_come_soonest_deadline_first_and_notices_last(browse_as, flood):
    items = fragment(browse_as(DONGGUAN, "operator")).context["inbox"]
    dated = [item.due_at for item in items if item.due_at is not None]
    assert len(dated) >= 3 and dated == sorted(dated)
    first_undated = next(index for index, item in enumerate(items) if item.due_at is None)
    assert all(item.due_at is None for item in items[first_undated:])
    assert items[0].kind == "acknowledgement"  # 30 minutes at level II, before the tasks' hour
    assert items[-1].kind == "notice"  # a notice asks for no answer: after everything that does


def test_the_reporter_approves_its_drafted_alert_and_is_not_asked_to_acknowledge(browse_as, flood_acknowledged):
    flood = flood_acknowledged
    from incidents.alerts.models import Alert, AlertState

    alert = Alert.objects.get(incident__public_id=flood.public_id, state=AlertState.DRAFT)
    items = fragment(browse_as(SHENZHEN, "commander", language="en")).context["inbox"]
    approvals = [item for item in items if item.kind == "alert_approval"]
    assert len(approvals) == 1
    approval = approvals[0]
    assert approval.link == f"/alerts/{alert.pk}/" and approval.incident_id == flood.public_id
    # The playbook's approval timeout (1 h) is the deadline.
    assert timedelta(minutes=55) < approval.due_at - timezone.now() <= timedelta(hours=1, minutes=1)
    assert "Flood and typhoon warning for the affected cities" in approval.asked
    assert "acknowledgement" not in {item.kind for item in items}


def test_nothing_another_jurisdiction_owes_reaches_the_inbox(browse_as, flood_acknowledged):
    assert fragment(browse_as(GUANGDONG, "commander")).context["inbox"] == []
    # Zhaoqing sits on the committee and was sent the boat request: that, and nothing Shenzhen or
    # Dongguan owes (their acknowledgement, tasks, alert) nor a notice it was not sent.
    assert {item.kind for item in fragment(browse_as(ZHAOQING, "commander")).context["inbox"]} <= {"meeting", "request"}
    dongguan = {item.key for item in fragment(browse_as(DONGGUAN, "commander")).context["inbox"]}
    shenzhen = {item.key for item in fragment(browse_as(SHENZHEN, "commander")).context["inbox"]}
    assert any(key.startswith("alert-") for key in shenzhen)
    assert not any(key.startswith("alert-") for key in dongguan)  # Shenzhen's draft is Shenzhen's alone
    # Both take part in the joint command, each with its own tasks.
    dongguan_tasks = {key for key in dongguan if key.startswith("task-")}
    shenzhen_tasks = {key for key in shenzhen if key.startswith("task-")}
    assert dongguan_tasks and shenzhen_tasks and not dongguan_tasks & shenzhen_tasks


def test_a_request_is_answered_by_its_recipient_and_the_offer_accepted_by_the_requester(browse_as, aid):
    from sharing.mutualaid.services.offers import offer_create

    incident, request = aid
    dongguan = browse_as(DONGGUAN, "commander", language="zh-hans")
    shenzhen = browse_as(SHENZHEN, "commander", language="zh-hans")
    asked = [item for item in fragment(dongguan).context["inbox"] if item.kind == "request"]
    assert [item.key for item in asked] == [f"request-{request.pk}"]
    assert asked[0].asked == "深圳市请求我方支援冲锋舟 4艘，请尽力提供。"
    assert asked[0].link == f"/resources/#request-{request.pk}" and asked[0].due_at == request.needed_by
    assert asked[0].incident_id == incident.public_id
    assert not [item for item in fragment(shenzhen).context["inbox"] if item.kind in ("request", "offer")]
    assert not [item for item in fragment(browse_as(ZHAOQING, "commander")).context["inbox"]
                if item.kind in ("request", "offer")]

    offer = offer_create(actor=dongguan.principal, request_id=request.pk, data={"quantity": 3})
    # Answered: off Dongguan's list; on Shenzhen's, to accept.
    assert not [item for item in fragment(dongguan).context["inbox"] if item.kind in ("request", "offer")]
    offers = [item for item in fragment(shenzhen).context["inbox"] if item.kind == "offer"]
    assert [item.key for item in offers] == [f"offer-{offer.pk}"]
    assert offers[0].asked == "东莞市为我方请求提供冲锋舟 3艘，请决定是否接受。"


def test_a_committee_member_owes_what_was_escalated_to_the_committee(browse_as, flood, make_officer):
    """Dongguan stays silent past its deadline and the next window: the chain passes over
    Shenzhen (the reporter) for the cluster committee, whose seated officer answers for it from
    the inbox; an officer of the same jurisdiction who is not seated owes nothing."""
    from django.test import Client

    from coordination.bodies import body_member_add
    from coordination.workflows.deadlines import sweep
    from coordination.workflows.models import Acknowledgement, Escalation

    ack = Acknowledgement.objects.get(incident_id=flood.public_id, jurisdiction_id=DONGGUAN, escalation_of=None)
    for at in (ack.due_at + timedelta(seconds=2), ack.due_at + timedelta(hours=3)):
        for _ in range(10):
            if not any(sweep(now=at, budget_seconds=60).values()):
                break
    assert Escalation.objects.filter(acknowledgement=ack, target_body_id=COMMITTEE).exists()
    member, outsider = make_officer("inbox-gd", GUANGDONG), make_officer("inbox-gd-2", GUANGDONG)
    body_member_add(body=COMMITTEE, username="inbox-gd")

    def inbox_of(user):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)
        return fragment(client).context["inbox"]

    items = [item for item in inbox_of(member) if item.key == f"ack-{ack.pk}"]
    assert len(items) == 1 and items[0].ack.for_body.code == COMMITTEE
    assert items[0].asked.startswith("Escalated to ") and "Dongguan has not answered" in items[0].asked
    assert not [item for item in inbox_of(outsider) if item.key == f"ack-{ack.pk}"]


# --- how it reads ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language, kind_word, asked", [
    ("zh-hans", "待确认", "深圳市报告了该事件，请确认我方已收到。"),
    ("zh-hant", "待確認", "深圳市報告了該事件，請確認我方已收到。"),
    ("en", "To acknowledge", "Shenzhen reported it: acknowledge that we have received it."),
])
def test_the_inbox_reads_in_the_officers_language_without_codes_or_iso_times(browse_as, flood, language, kind_word,
                                                                              asked):
    html = fragment(browse_as(DONGGUAN, "operator", language=language)).content.decode()
    text = visible_text(html)
    assert kind_word in text and asked in text
    assert flood.public_id in text and "观澜河水位超警戒" in text
    assert not ISO_TIME.search(text), text
    assert not CODES.search(text), CODES.search(text)
    if language != "en":
        # Whatever is left in Latin letters is the playbook's own English (said in the report) or the id.
        for playbook_text in playbook_texts():
            text = text.replace(playbook_text, "")
        text = text.replace(flood.public_id, "")
        assert not re.search(r"[A-Za-z]{3,}", text), text


def test_the_acknowledgement_form_takes_a_comment_as_long_as_the_model_keeps(browse_as, flood):
    from coordination.workflows.models import Acknowledgement

    html = fragment(browse_as(DONGGUAN, "operator")).content.decode()
    limit = Acknowledgement._meta.get_field("comment").max_length
    assert re.search(rf'<textarea id="comment-[0-9a-f-]+" name="comment" rows="2" maxlength="{limit}"', html)
    # A viewer sees what is owed, without the form.
    viewer = fragment(browse_as(DONGGUAN, "viewer")).content.decode()
    assert 'data-kind="acknowledgement"' in viewer and 'name="comment"' not in viewer


def test_an_acknowledgement_with_a_comment_from_the_dashboard_reaches_the_timeline(browse_as, flood):
    from coordination.workflows.models import Acknowledgement, AckStatus

    ack = Acknowledgement.objects.get(incident_id=flood.public_id, jurisdiction_id=DONGGUAN, escalation_of=None)
    dongguan = browse_as(DONGGUAN, "operator")
    comment = "收到；已启动四级响应；联系电话 0769-12345678"
    response = dongguan.post(f"/acknowledgements/{ack.id}/ack/", {"comment": comment, "next": "/"},
                             HTTP_HX_REQUEST="true")
    fragment_html = response.content.decode()
    assert response.status_code == 200 and fragment_html.lstrip().startswith('<div id="owed"')
    assert f'id="ack-{ack.id}"' not in fragment_html
    ack.refresh_from_db()
    assert ack.status == AckStatus.ACKNOWLEDGED and ack.comment == comment
    # The asking jurisdiction reads it on the incident's timeline.
    assert comment in timeline_of(browse_as(SHENZHEN, "operator"), flood)


# --- the page around it -----------------------------------------------------------------------------------


def test_the_menu_counts_the_inbox_and_the_page_loads_its_script(browse_as, flood):
    client = browse_as(DONGGUAN, "operator", language="zh-hans")
    count = len(fragment(client).context["inbox"])
    assert count >= 4
    html = client.get("/").content.decode()
    assert re.search(rf'<span class="nav-count" id="nav-inbox-count">{count}</span>', html)
    assert f'data-inbox-count="{count}"' in html and "待办" in html
    assert 'id="inbox-sound"' in html and "新事项提示音：关" in html
    assert 'id="inbox-notify"' in html and "浏览器通知：关" in html
    assert "/static/ui/js/inbox.js" in html
    # No inline script (the Content-Security-Policy allows none): every script is a file or data.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    # Nothing owed: the count is hidden, not "0".
    empty = browse_as(GUANGDONG, "operator").get("/").content.decode()
    assert '<span class="nav-count" id="nav-inbox-count" hidden>0</span>' in empty


def test_the_inbox_costs_the_same_queries_for_few_items_or_twenty_more(browse_as, flood,
                                                                       django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from coordination.workflows.models import JointCommand, Task

    client = browse_as(DONGGUAN, "operator")
    fragment(client)  # the registry and time zones are read once per process
    with CaptureQueriesContext(connection) as few:
        before = len(fragment(client).context["inbox"])
    command = JointCommand.objects.get(incident_id=flood.public_id)
    now = timezone.now()
    Task.objects.bulk_create([
        Task(incident_id=flood.public_id, joint_command=command, title=f"巡查第 {n} 段堤防", assignee_id=DONGGUAN,
             due_at=now + timedelta(minutes=10 + n), created_by="test") for n in range(20)])
    with CaptureQueriesContext(connection) as more:
        items = fragment(client).context["inbox"]
    assert len(items) == before + 20
    assert len(more) == len(few), (len(few), len(more))
    # Session, user, membership, bodies, then one or two per kind (13 when measured).
    with django_assert_max_num_queries(20):
        fragment(client)
