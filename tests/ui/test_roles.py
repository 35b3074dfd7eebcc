"""Roles: a viewer sees no write controls and the server refuses the write anyway; forms are
CSRF-protected; a jurisdiction writes only where the services let it."""

import pytest

from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.conftest import cross_border_area

pytestmark = pytest.mark.django_db

WRITE_CONTROLS = ['action="/incidents/new/"', "/transition/", "/updates/", "/sitreps/", "/resource-requests/",
                  "/ack/", "/approve/", "/log/", "/move/", "/deactivate/", 'href="/incidents/new/"',
                  "/joint-command/", "/meetings/", "/tasks/", "/close/", "/decisions/", "/offer/", "/accept/"]


def controls_on(client, paths) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        html = client.get(path).content.decode()
        hits = [marker for marker in WRITE_CONTROLS if marker in html]
        if hits:
            found[path] = hits
    return found


def test_a_viewer_sees_no_write_controls_anywhere(browse_as, reported, run_playbooks):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    run_playbooks()  # Dongguan now owes an acknowledgement, and a joint command is open
    viewer = browse_as(DONGGUAN, "viewer")
    pages = ["/", "/incidents/", f"/incidents/{incident.public_id}/", f"/incidents/{incident.public_id}/parts/",
             "/fragments/owed/", "/incidents/new/", "/resources/", "/command/", "/agreements/", "/alerts/"]
    assert controls_on(viewer, pages) == {}
    assert viewer.get("/fragments/owed/").context["owed"], "the viewer sees what is owed, without a button"
    # The same pages give an operator of Dongguan its controls: the check above can fail.
    operator_controls = controls_on(browse_as(DONGGUAN, "operator"), pages)
    assert "/ack/" in operator_controls["/"] and "/updates/" in operator_controls[f"/incidents/{incident.public_id}/"]


def test_the_server_refuses_a_viewers_writes(browse_as, reported, run_playbooks):
    from coordination.workflows.models import Acknowledgement, AckStatus
    from incidents.models import Incident, TimelineEntry

    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    run_playbooks()
    ack = Acknowledgement.objects.get(jurisdiction_id=DONGGUAN)
    viewer = browse_as(DONGGUAN, "viewer")
    base = f"/incidents/{incident.public_id}/"
    entries = TimelineEntry.objects.count()
    attempts = {
        "/incidents/new/": {"title": "x", "category": "accident", "type": "fire", "level": "IV",
                            "occurred_at": "2026-01-01T08:00", "area_kind": "point", "lat": "22.9", "lon": "113.9"},
        base + "updates/": {"text": "我们看到了"},
        base + "sitreps/": {"period_start": "2026-01-01T08:00", "period_end": "2026-01-01T09:00"},
        f"/acknowledgements/{ack.id}/ack/": {},
    }
    for path, data in attempts.items():
        assert viewer.post(path, data).status_code == 403, path
    assert TimelineEntry.objects.count() == entries
    assert Incident.objects.count() == 1
    assert Acknowledgement.objects.get(pk=ack.pk).status == AckStatus.PENDING


def test_only_the_reporting_jurisdiction_moves_an_incident(browse_as, reported):
    incident = reported(SHENZHEN, level="II", affected_area=cross_border_area())
    dongguan_commander = browse_as(DONGGUAN, "commander")
    page = dongguan_commander.get(f"/incidents/{incident.public_id}/").content.decode()
    assert "/transition/" not in page
    response = dongguan_commander.post(f"/incidents/{incident.public_id}/transition/", {"status": "verified"})
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "reported"


def test_an_operator_may_not_move_an_incident(browse_as, reported):
    operator = browse_as(SHENZHEN, "operator")
    incident = reported(SHENZHEN, level="II")
    assert "/transition/" not in operator.get(f"/incidents/{incident.public_id}/").content.decode()
    assert operator.post(f"/incidents/{incident.public_id}/transition/", {"status": "verified"}).status_code == 403


def test_a_write_on_an_incident_it_may_not_see_is_not_found(browse_as, reported):
    incident = reported(SHENZHEN, level="IV")
    commander = browse_as(DONGGUAN, "commander")
    for suffix, data in [("transition/", {"status": "verified"}), ("updates/", {"text": "?"})]:
        assert commander.post(f"/incidents/{incident.public_id}/{suffix}", data).status_code == 404


def test_forms_need_the_csrf_token(browse_as, reported):
    incident = reported(SHENZHEN, level="II")
    client = browse_as(SHENZHEN, "commander", enforce_csrf_checks=True)
    response = client.post(f"/incidents/{incident.public_id}/transition/", {"status": "verified"})
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.status == "reported"
    page = client.get(f"/incidents/{incident.public_id}/")
    token = page.cookies["csrftoken"].value
    response = client.post(f"/incidents/{incident.public_id}/transition/", {"status": "verified",
                                                                           "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "verified"


def test_reading_pages_needs_no_more_than_the_viewer_role(browse_as, reported):
    incident = reported(SHENZHEN, level="II")
    viewer = browse_as(SHENZHEN, "viewer")
    for path in ["/", "/incidents/", f"/incidents/{incident.public_id}/", "/resources/", "/command/",
                 "/agreements/", "/alerts/", "/incidents/new/"]:
        assert viewer.get(path).status_code == 200, path
    assert "您的角色无权报告事件" in viewer.get("/incidents/new/").content.decode()
