"""Alerts in the UI: a commander of the reporting jurisdiction drafts one on the incident's page,
checks it and its CAP preview on the alert's page, approves it, updates it and cancels it
(through incidents.alerts.issuing, the functions the API calls). Bad input is answered next to
its field; operators and viewers get no controls and their posts are refused; a draft is its
owner's alone; a drill's alerts say so."""

from datetime import timedelta
from html import escape

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, SHENZHEN, ZHAOQING
from tests.ui.conftest import cross_border_area

pytestmark = pytest.mark.django_db

CONTACT = "0755-12345678"


def local(moment) -> str:
    """A datetime as <input type="datetime-local"> sends it, in the cluster's time zone."""
    return timezone.localtime(moment, timezone=timezone.get_fixed_timezone(8 * 60)).strftime("%Y-%m-%dT%H:%M")


def terms_form(**overrides) -> dict:
    """What ui.forms.AlertTermsForm takes (the draft form on the incident's page, and an Update)."""
    form = {"scope": "Public", "response_type": ["Evacuate", "Monitor"], "contact": CONTACT,
            "headline_zh": "观澜河水位超警戒，请沿河居民立即撤离", "instruction_en": "Move to higher ground now."}
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def draft_path(incident) -> str:
    return f"/incidents/{incident.public_id}/alerts/"


def events(alert, name: str):
    from sharing.models import Event

    return list(Event.objects.filter(subject_type="alert", subject_id=str(alert.pk), name=name))


def page_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


@pytest.fixture
def drafted(browse_as, reported):
    """drafted(**incident fields) -> (commander client of Shenzhen, incident, draft Alert), the
    draft made through the incident page's form."""
    from incidents.alerts.models import Alert

    def make(**fields):
        fields = {"level": "II", "affected_area": cross_border_area(), **fields}
        incident = reported(SHENZHEN, **fields)
        commander = browse_as(SHENZHEN, "commander")
        response = commander.post(draft_path(incident), terms_form())
        assert response.status_code == 302, response.content.decode()[:2000]
        return commander, incident, Alert.objects.get(incident=incident, msg_type="Alert")

    return make


# --- the flow ------------------------------------------------------------------------------------------


def test_a_commander_drafts_checks_and_approves_an_alert(browse_as, reported):
    from incidents.alerts.models import Alert

    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    commander = browse_as(SHENZHEN, "commander")
    html = page_of(commander, f"/incidents/{incident.public_id}/")
    assert 'id="alert-draft-form"' in html and f'action="{draft_path(incident)}"' in html
    assert "起草公众预警" in html

    response = commander.post(draft_path(incident), terms_form())
    alert = Alert.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}/"
    assert (alert.state, alert.msg_type, alert.status, alert.scope, alert.exercise) == (
        "draft", "Alert", "Actual", "Public", False)
    assert alert.incident_id == incident.pk and alert.owner_id == SHENZHEN
    assert alert.drafted_by and not alert.approved_by
    infos = {info.language: info for info in alert.infos.all()}
    assert infos["zh-CN"].headline == "观澜河水位超警戒，请沿河居民立即撤离"
    assert infos["en-US"].instruction == "Move to higher ground now."
    assert infos["zh-CN"].contact == CONTACT
    assert events(alert, "alert.drafted") and not events(alert, "alert.issued")

    # The alert's page: the draft, its banner with the approve button, and the CAP preview.
    html = page_of(commander, response["Location"])
    assert f"预警 {alert.identifier} 已起草：请核对内容和 CAP 预览，然后审批。" in html
    assert "草稿：尚未发布。" in html and "草稿（尚未发布）" in html
    assert 'id="alert-approve-form"' in html and f'action="/alerts/{alert.pk}/approve/"' in html
    # The CAP document: the machine message, put on the page when the officer opens it (in a
    # <template>, out of the text a reader sees), beside the download link.
    assert "将发送的 CAP 消息" in html and 'id="cap-preview"' in html
    assert html.index("<template>") < html.index('id="cap-preview"') < html.index("</template>")
    assert escape(f"<identifier>{alert.identifier}</identifier>") in html
    assert escape("<msgType>Alert</msgType>") in html and escape("<status>Actual</status>") in html
    assert escape("观澜河水位超警戒，请沿河居民立即撤离") in html
    assert 'id="alert-update-form"' not in html and 'id="alert-cancel-form"' not in html  # not issued yet
    # The incident's page lists it, and its timeline says it was drafted.
    html = page_of(commander, f"/incidents/{incident.public_id}/")
    assert f'href="/alerts/{alert.pk}/"' in html and f"预警 {alert.identifier} 已起草（公开），待审批。" in html

    response = commander.post(f"/alerts/{alert.pk}/approve/")
    assert response.status_code == 302 and response["Location"] == f"/alerts/{alert.pk}/"
    alert.refresh_from_db()
    assert alert.state == "active" and alert.approved_by
    (issued,) = events(alert, "alert.issued")
    assert issued.payload["incident"] == incident.public_id and issued.payload["state"] == "active"
    html = page_of(commander, response["Location"])
    assert f"预警 {alert.identifier} 已审批并发布。" in html and "生效中" in html
    assert "草稿：尚未发布。" not in html and 'id="alert-approve-form"' not in html
    assert 'id="alert-update-form"' in html and 'id="alert-cancel-form"' in html
    html = page_of(commander, f"/incidents/{incident.public_id}/")  # the timeline: drafted, then issued
    drafted_at = html.index(f"预警 {alert.identifier} 已起草（公开），待审批。")
    assert html.index(f"预警 {alert.identifier} 已发布（公开）：观澜河水位超警戒，请沿河居民立即撤离") > drafted_at

    # Approving twice: refused with the service's reason, nothing changes.
    response = commander.post(f"/alerts/{alert.pk}/approve/", follow=True)
    assert response.redirect_chain == [(f"/alerts/{alert.pk}/", 302)]
    assert "not a draft" in response.content.decode()
    assert len(events(alert, "alert.issued")) == 1 and Alert.objects.count() == 1


def test_an_update_replaces_the_alert_and_a_cancel_ends_it(drafted):
    from incidents.alerts.models import Alert

    commander, incident, alert = drafted()
    assert commander.post(f"/alerts/{alert.pk}/approve/").status_code == 302

    response = commander.post(f"/alerts/{alert.pk}/update/", terms_form(headline_zh="水位继续上涨，扩大撤离范围"))
    update = Alert.objects.get(msg_type="Update")
    assert response.status_code == 302 and response["Location"] == f"/alerts/{update.pk}/"
    alert.refresh_from_db()
    assert (alert.state, alert.superseded_by_id) == ("updated", update.pk)
    assert update.state == "active" and update.incident_id == incident.pk
    assert [(ref.sender, ref.identifier) for ref in update.references.all()] == [(alert.sender, alert.identifier)]
    assert len(events(update, "alert.updated")) == 1
    html = page_of(commander, response["Location"])
    assert f"更新 {update.identifier} 已发布。" in html and escape("<msgType>Update</msgType>") in html
    assert escape("水位继续上涨，扩大撤离范围") in html
    # The replaced alert offers nothing more; a cancel of it is refused and changes nothing.
    html = page_of(commander, f"/alerts/{alert.pk}/")
    assert "已更新（被后续消息取代）" in html and f'href="/alerts/{update.pk}/"' in html
    assert 'id="alert-update-form"' not in html and 'id="alert-cancel-form"' not in html
    response = commander.post(f"/alerts/{alert.pk}/cancel/", {"note": ""}, follow=True)
    assert response.redirect_chain == [(f"/alerts/{alert.pk}/", 302)]
    assert f"was updated by {update.pk}" in response.content.decode()
    assert Alert.objects.count() == 2

    response = commander.post(f"/alerts/{update.pk}/cancel/", {"note": "水位回落，撤离解除"})
    cancel = Alert.objects.get(msg_type="Cancel")
    assert response.status_code == 302 and response["Location"] == f"/alerts/{cancel.pk}/"
    update.refresh_from_db()
    assert (cancel.state, update.state, update.superseded_by_id) == ("cancelled", "cancelled", cancel.pk)
    assert len(events(cancel, "alert.cancelled")) == 1
    html = page_of(commander, response["Location"])
    assert f"解除消息 {cancel.identifier} 已发布：预警解除。" in html and escape("<msgType>Cancel</msgType>") in html
    html = page_of(commander, f"/alerts/{update.pk}/")
    assert 'id="alert-update-form"' not in html and 'id="alert-cancel-form"' not in html
    # The incident's timeline tells the whole story.
    html = page_of(commander, f"/incidents/{incident.public_id}/")
    for line in (f"预警 {alert.identifier} 已起草", f"更新 {update.identifier} 已发布",
                 f"解除消息 {cancel.identifier} 已发布"):
        assert line in html, line


def test_what_the_officer_clears_in_the_update_form_is_not_in_the_update(drafted):
    from incidents.alerts.models import Alert

    commander, _, alert = drafted()
    commander.post(f"/alerts/{alert.pk}/approve/")
    initial = commander.get(f"/alerts/{alert.pk}/").context["update_form"].initial
    assert initial["contact"] == CONTACT and initial["response_type"] == ["Evacuate", "Monitor"]
    response = commander.post(f"/alerts/{alert.pk}/update/", terms_form(contact="", response_type=[]))
    assert response.status_code == 302
    infos = list(Alert.objects.get(msg_type="Update").infos.all())
    assert [(info.contact or "", list(info.response_types)) for info in infos] == [("", [])] * len(infos)


def test_a_draft_is_cancelled_by_no_one_it_is_approved_first(drafted):
    from incidents.alerts.models import Alert

    commander, _, alert = drafted()
    for action, data in [("cancel", {"note": ""}), ("update", terms_form())]:
        response = commander.post(f"/alerts/{alert.pk}/{action}/", data, follow=True)
        assert response.redirect_chain == [(f"/alerts/{alert.pk}/", 302)], action
        assert "is a draft: approve it first" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == "draft" and Alert.objects.count() == 1


# --- bad input -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"scope": "Everyone"}, "scope", "选择一个有效的选项"),
    ({"response_type": ["Panic"]}, "response_type", "选择一个有效的选项"),
    ({"expires": local(timezone.now() - timedelta(hours=1))}, "expires", "该时间已过；失效时间须在将来。"),
    ({"expires": "tomorrow"}, "expires", "输入一个有效的日期/时间"),
    ({"web": "not a web page"}, "web", "URL"),
    ({"web": "ftp://files.example.cn/warning.txt"}, "web", "须为 http 或 https 地址"),  # incidents.alerts.links
    ({"headline_zh": "长" * 161}, "headline_zh", "160"),
    ({"contact": "0755\x0712345678"}, "contact", ""),
    # Refused by the service (its rules), shown next to the field it names.
    ({"scope": "Restricted"}, "restriction", "A Restricted alert says who it is for"),
    ({"restriction": "应急管理人员"}, "restriction", "Only a Restricted alert has a restriction"),
    ({"scope": "Private"}, "addresses", "A Private alert names its addressees"),
    ({"addresses": "ops@example.org"}, "addresses", "Only a Private alert has addresses"),
])
def test_each_bad_input_is_answered_next_to_its_field(browse_as, reported, change, field, message):
    from incidents.alerts.models import Alert
    from incidents.models import TimelineEntry

    incident = reported(SHENZHEN, level="II")
    entries = TimelineEntry.objects.count()
    response = browse_as(SHENZHEN, "commander").post(draft_path(incident), terms_form(**change))
    assert response.status_code == 400
    form = response.context["forms"].alert
    assert any(message in error for error in form.errors.get(field, [])), form.errors
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html or field in ("scope", "response_type")
    if message:
        assert escape(message) in html
    assert "<details open>" in html  # the draft form is shown open, with the errors in it
    assert Alert.objects.count() == 0 and TimelineEntry.objects.count() == entries


def test_a_bad_update_is_answered_on_the_alerts_page(drafted):
    from incidents.alerts.models import Alert

    commander, _, alert = drafted()
    commander.post(f"/alerts/{alert.pk}/approve/")
    response = commander.post(f"/alerts/{alert.pk}/update/", terms_form(scope="Private"))
    assert response.status_code == 400
    assert "A Private alert names its addressees" in response.context["update_form"].errors["addresses"][0]
    assert 'id="id_addresses_error"' in response.content.decode()
    response = commander.post(f"/alerts/{alert.pk}/cancel/", {"note": "x" * 1001})
    assert response.status_code == 400 and "note" in response.context["cancel_form"].errors
    alert.refresh_from_db()
    assert alert.state == "active" and Alert.objects.count() == 1


def test_a_closed_incidents_page_offers_no_draft_and_a_draft_post_says_why_it_is_refused(browse_as, reported):
    """A page opened before the incident closed still has the form: its post is refused, and the
    reason is shown on top of the incident's page (which no longer shows the form)."""
    from incidents.alerts.models import Alert
    from incidents.models import Incident

    incident = reported(SHENZHEN, level="II")
    commander = browse_as(SHENZHEN, "commander")
    assert 'id="alert-draft-form"' in page_of(commander, f"/incidents/{incident.public_id}/")
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    assert 'id="alert-draft-form"' not in page_of(commander, f"/incidents/{incident.public_id}/")
    response = commander.post(draft_path(incident), terms_form(), follow=True)
    assert response.redirect_chain == [(f"/incidents/{incident.public_id}/", 302)]
    assert "is closed: alerts about it can only be cancelled" in response.content.decode()
    assert Alert.objects.count() == 0


# --- roles ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_get_no_alert_controls_and_their_posts_are_refused(drafted, browse_as, role):
    from incidents.alerts.models import Alert

    commander, incident, alert = drafted()
    other = browse_as(SHENZHEN, role)
    html = page_of(other, f"/incidents/{incident.public_id}/")
    assert f'href="/alerts/{alert.pk}/"' in html  # it sees the draft (its jurisdiction's) ...
    assert 'id="alert-draft-form"' not in html and f'action="{draft_path(incident)}"' not in html  # ... no form
    html = page_of(other, f"/alerts/{alert.pk}/")
    assert "草稿：尚未发布。" in html
    assert [marker for marker in ("alert-approve-form", "alert-update-form", "alert-cancel-form", "/approve/",
                                  "/update/", "/cancel/") if marker in html] == []
    # The same page gives the commander its button: the check above can fail.
    assert 'id="alert-approve-form"' in page_of(commander, f"/alerts/{alert.pk}/")

    for path, data in [(draft_path(incident), terms_form()), (f"/alerts/{alert.pk}/approve/", {})]:
        response = other.post(path, data)
        assert response.status_code == 403, path
        assert "needs a commander" in response.content.decode()
    alert.refresh_from_db()
    assert alert.state == "draft" and Alert.objects.count() == 1 and not events(alert, "alert.issued")

    commander.post(f"/alerts/{alert.pk}/approve/")
    html = page_of(other, f"/alerts/{alert.pk}/")
    assert "alert-update-form" not in html and "alert-cancel-form" not in html
    for path, data in [(f"/alerts/{alert.pk}/update/", terms_form()), (f"/alerts/{alert.pk}/cancel/", {})]:
        assert other.post(path, data).status_code == 403, path
    alert.refresh_from_db()
    assert alert.state == "active" and Alert.objects.count() == 1


# --- visibility ----------------------------------------------------------------------------------------


def test_a_draft_is_its_owners_alone(drafted, browse_as):
    from incidents.alerts.models import Alert

    commander, incident, alert = drafted()  # level II, its area reaching into Dongguan
    dongguan = browse_as(DONGGUAN, "commander")
    html = page_of(dongguan, f"/incidents/{incident.public_id}/")  # Dongguan sees the incident ...
    assert str(alert.pk) not in html and alert.identifier not in html  # ... not the draft, nor its timeline entry
    assert 'id="alert-draft-form"' not in html  # only the reporting jurisdiction issues alerts about it
    assert alert.identifier not in page_of(dongguan, "/alerts/")
    for path in (f"/alerts/{alert.pk}/", f"/alerts/{alert.pk}/approve/"):
        response = dongguan.post(path) if path.endswith("approve/") else dongguan.get(path)
        assert response.status_code == 404, path
    # Drafting about another jurisdiction's incident it sees: refused.
    response = dongguan.post(draft_path(incident), terms_form())
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.state == "draft" and Alert.objects.count() == 1

    # Approved, it concerns Dongguan: seen there, changed only by its owner.
    commander.post(f"/alerts/{alert.pk}/approve/")
    html = page_of(dongguan, f"/alerts/{alert.pk}/")
    assert "alert-update-form" not in html and "alert-cancel-form" not in html
    html = page_of(dongguan, f"/incidents/{incident.public_id}/")
    assert f'href="/alerts/{alert.pk}/"' in html and f"预警 {alert.identifier} 已发布（公开）" in html
    for action, data in [("update", terms_form()), ("cancel", {})]:
        assert dongguan.post(f"/alerts/{alert.pk}/{action}/", data).status_code == 403, action
    assert Alert.objects.count() == 1


def test_an_incident_it_may_not_see_is_not_found(browse_as, reported):
    from incidents.alerts.models import Alert

    incident = reported(SHENZHEN, level="IV")  # Shenzhen's alone
    for code in (DONGGUAN, ZHAOQING):
        commander = browse_as(code, "commander")
        assert commander.post(draft_path(incident), terms_form()).status_code == 404, code
        assert commander.post(draft_path(incident), terms_form(scope="Everyone")).status_code == 404, code
    assert browse_as(DONGGUAN, "commander").post("/incidents/INC-NOPE/alerts/", terms_form()).status_code == 404
    assert Alert.objects.count() == 0


def test_an_alert_that_does_not_exist_is_not_found(browse_as, gba):
    import uuid

    commander = browse_as(SHENZHEN, "commander")
    missing = uuid.uuid4()
    assert commander.get(f"/alerts/{missing}/").status_code == 404
    for action, data in [("approve", {}), ("update", terms_form()), ("cancel", {})]:
        assert commander.post(f"/alerts/{missing}/{action}/", data).status_code == 404, action


def test_the_alert_posts_take_no_get(drafted):
    commander, incident, alert = drafted()
    assert commander.get(draft_path(incident)).status_code == 405
    for action in ("approve", "update", "cancel"):
        assert commander.get(f"/alerts/{alert.pk}/{action}/").status_code == 405, action


# --- drills --------------------------------------------------------------------------------------------


def test_a_drills_alert_is_an_exercise_and_its_pages_say_so(drafted, browse_as):
    from sharing.models import Event

    commander, incident, alert = drafted(exercise=True)
    assert incident.exercise is True
    assert (alert.status, alert.exercise) == ("Exercise", True)
    infos = {info.language: info for info in alert.infos.all()}
    assert infos["zh-CN"].headline.startswith("【演练】") and infos["en-US"].headline.startswith("[EXERCISE] ")
    html = page_of(commander, f"/alerts/{alert.pk}/")
    assert '<span class="exercise" title="演练，并非真实事件">演练</span>' in html
    assert "<dd>预警 · 公开 · 演练</dd>" in html  # message type · scope · CAP status
    assert escape("<status>Exercise</status>") in html and "<h1>【演练】" in html
    assert escape("<note>演练，非真实事件。Exercise: not a real incident.</note>") in html
    incident_page = page_of(commander, f"/incidents/{incident.public_id}/")
    assert 'class="exercise"' in incident_page and "【演练】" in incident_page

    commander.post(f"/alerts/{alert.pk}/approve/")
    alert.refresh_from_db()
    assert alert.state == "active"
    (issued,) = Event.objects.filter(subject_id=str(alert.pk), name="alert.issued")
    assert (issued.exercise, issued.data_kind) == (True, "incidents")  # never a public alert
    html = page_of(commander, f"/alerts/{alert.pk}/")
    assert 'class="exercise"' in html and "<dd>预警 · 公开 · 演练</dd>" in html
    # Who sees it: as the incident is shared, not everyone (a real public alert's words are not there).
    assert "按事件的共享规则" in html and "公众预警：" not in html
    listing = page_of(commander, "/alerts/")
    assert 'class="is-exercise' in listing and '<span class="exercise"' in listing


def test_a_real_public_alert_says_everyone_sees_it(drafted):
    commander, _, alert = drafted()
    commander.post(f"/alerts/{alert.pk}/approve/")
    html = page_of(commander, f"/alerts/{alert.pk}/")
    assert "公众预警：联动的所有值班人员和系统均可见" in html and "<dd>预警 · 公开 · 实际</dd>" in html
    assert 'class="exercise"' not in html


def test_an_english_speaking_officer_reads_the_alert_in_english(drafted, browse_as):
    _, incident, alert = drafted()
    html = page_of(browse_as(SHENZHEN, "commander", language="en"), f"/alerts/{alert.pk}/")
    assert "Draft: not issued." in html and "The CAP message as it will be sent" in html and "Approve and issue" in html
    english = {info.language: info for info in alert.infos.all()}["en-US"].headline
    assert f"<h1>{escape(english)}</h1>" in html and "<dd>Alert · Public · Actual</dd>" in html
    html = page_of(browse_as(SHENZHEN, "commander", language="en"), f"/incidents/{incident.public_id}/")
    assert f"Alert {alert.identifier} drafted (Public); awaiting approval." in html


def test_an_alerts_web_page_is_linked_only_when_it_is_an_http_address(browse_as, principal_for):
    """A <web> of javascript: (held from before imports refused it) is shown as text, never linked."""
    from incidents.alerts.intake import alert_import
    from incidents.alerts.models import AlertInfo
    from incidents.alerts.senders import cap_sender_register
    from tests.alerts.capdocs import cap_document, zhuhai_info

    cap_sender_register(actor=None, pattern="*@shenzhen-gov.example", jurisdiction=SHENZHEN)
    info = zhuhai_info("en-US", web="https://shenzhen-gov.example/warnings/1")
    result = alert_import(actor=principal_for(SHENZHEN, role="commander"),
                          document=cap_document("SZ-WEB", sender="eoc@shenzhen-gov.example", infos=[info]))
    officer = browse_as(SHENZHEN, "viewer")

    page = page_of(officer, f"/alerts/{result.alert_id}/")
    assert '<a href="https://shenzhen-gov.example/warnings/1" rel="noopener noreferrer nofollow"' in page

    AlertInfo.objects.filter(alert_id=result.alert_id).update(web="javascript:alert(document.cookie)")
    page = page_of(officer, f"/alerts/{result.alert_id}/")
    assert 'href="javascript:' not in page and "javascript:alert(document.cookie)" in page
