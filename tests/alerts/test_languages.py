"""An alert's language blocks (issue 19): a draft remembers its blocks' texts as they were when
they last agreed; when one block's text changes and another's does not, the alert says which
was changed and which not (API `languages_in_step` false; the draft's page, in the reader's
language), and approving it needs an explicit confirmation. Hong Kong and Macao readers get a
Traditional Chinese block of their own, each language its own CAP <info>."""

import re

import pytest
from lxml import etree

from coordination.models import AuditEntry
from incidents.alerts.models import Alert
from tests.alerts.support import assert_valid_cap
from tests.conftest import HONG_KONG, SHENZHEN

# The web UI's fixtures (a logged-in officer's client), for the draft's page.
from tests.ui.conftest import browse_as, officer  # noqa: F401

pytestmark = pytest.mark.django_db

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
# A box across the Shenzhen River: Shenzhen and Hong Kong both affected.
SHENZHEN_HONG_KONG_AREA = {"type": "Polygon", "coordinates": [[
    [114.05, 22.47], [114.15, 22.47], [114.15, 22.58], [114.05, 22.58], [114.05, 22.47]]]}


@pytest.fixture
def commander(api_as):
    return api_as(SHENZHEN, role="commander")


def draft(client, incident: dict, **fields) -> dict:
    response = client.post("/api/v1/alerts/", {"incident": incident["id"], **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def edit(client, alert: dict, *info, **fields) -> dict:
    response = client.post(f"/api/v1/alerts/{alert['id']}/wording/", {"info": list(info), **fields}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def texts(body: dict) -> dict:
    return {info["language"]: (info["headline"], info["description"], info["instruction"]) for info in body["info"]}


# --- drift ---------------------------------------------------------------------------------------------


def test_a_fresh_draft_is_in_step(commander, shenzhen_incident):
    body = draft(commander, shenzhen_incident())
    assert (body["languages_in_step"], body["languages_changed"], body["languages_unchanged"]) == (True, [], [])


@pytest.mark.parametrize("field", ["headline", "description", "instruction"])
def test_changing_one_blocks_text_alone_is_a_drift(commander, shenzhen_incident, field):
    alert = draft(commander, shenzhen_incident())
    body = edit(commander, alert, {"language": "zh-CN", field: "观澜河水位超警戒，请立即撤离"})

    assert texts(body)["zh-CN"] != texts(alert)["zh-CN"] and texts(body)["en-US"] == texts(alert)["en-US"]
    assert (body["languages_in_step"], body["languages_changed"], body["languages_unchanged"]) == (
        False, ["zh-CN"], ["en-US"])
    assert AuditEntry.objects.filter(action="alert.edited", object_id=alert["id"]).get().detail[
        "languages_in_step"] is False


def test_changing_both_blocks_is_no_drift_and_the_other_block_catching_up_ends_one(commander, shenzhen_incident):
    alert = draft(commander, shenzhen_incident())
    both = edit(commander, alert, {"language": "zh-CN", "headline": "河水上涨，请撤离"},
                {"language": "en-US", "headline": "River rising: leave now"})
    assert both["languages_in_step"] is True

    drifted = edit(commander, alert, {"language": "en-US", "instruction": "Go to the school on the hill."})
    assert (drifted["languages_in_step"], drifted["languages_changed"]) == (False, ["en-US"])
    caught_up = edit(commander, alert, {"language": "zh-CN", "instruction": "前往山上的学校。"})
    assert caught_up["languages_in_step"] is True
    # And the agreement moved on: changing Chinese again is a drift of its own.
    again = edit(commander, alert, {"language": "zh-CN", "headline": "河水继续上涨"})
    assert (again["languages_changed"], again["languages_unchanged"]) == (["zh-CN"], ["en-US"])


def test_the_officer_may_say_the_languages_agree(commander, shenzhen_incident):
    alert = draft(commander, shenzhen_incident())
    edit(commander, alert, {"language": "zh-CN", "headline": "河水上涨，请撤离"})
    body = edit(commander, alert, languages_agree=True)
    assert body["languages_in_step"] is True


def test_saving_the_same_text_again_is_no_change(commander, shenzhen_incident):
    alert = draft(commander, shenzhen_incident())
    headline = texts(alert)["zh-CN"][0]
    body = edit(commander, alert, {"language": "zh-CN", "headline": headline})
    assert body["languages_in_step"] is True


# --- approving ---------------------------------------------------------------------------------------------


def test_a_drifted_draft_is_refused_without_confirmation_and_issued_with_it(commander, shenzhen_incident):
    alert = draft(commander, shenzhen_incident())
    edit(commander, alert, {"language": "zh-CN", "headline": "河水上涨，请撤离"})

    response = commander.post(f"/api/v1/alerts/{alert['id']}/approve/", format="json")
    assert response.status_code == 409
    problem = response.json()
    assert (problem["languages_in_step"], problem["languages_changed"], problem["languages_unchanged"]) == (
        False, ["zh-CN"], ["en-US"])
    assert "中文已修改，英文未修改" in problem["detail"]  # the default language (zh-hans)
    assert Alert.objects.get(pk=alert["id"]).state == "draft"

    response = commander.post(f"/api/v1/alerts/{alert['id']}/approve/", {"confirm_languages": True}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "active"
    issued = AuditEntry.objects.get(action="alert.issued", object_id=alert["id"])
    assert issued.detail["languages_changed"] == ["zh-CN"]


def test_an_in_step_draft_is_approved_without_a_body(commander, shenzhen_incident):
    alert = draft(commander, shenzhen_incident())
    response = commander.post(f"/api/v1/alerts/{alert['id']}/approve/")
    assert response.status_code == 200, response.json()


def test_an_issued_alerts_wording_is_not_edited(commander, shenzhen_incident):
    alert = draft(commander, shenzhen_incident())
    assert commander.post(f"/api/v1/alerts/{alert['id']}/approve/").status_code == 200
    response = commander.post(f"/api/v1/alerts/{alert['id']}/wording/",
                              {"info": [{"language": "zh-CN", "headline": "改"}]}, format="json")
    assert response.status_code == 409


# --- CAP: one <info> per language ----------------------------------------------------------------------


def test_each_language_is_its_own_info_and_hong_kong_gets_a_traditional_block(commander, shenzhen_incident):
    incident = shenzhen_incident(affected_area=SHENZHEN_HONG_KONG_AREA)
    alert = draft(commander, incident)
    assert HONG_KONG in alert["affected_jurisdictions"]
    assert [info["language"] for info in alert["info"]] == ["zh-CN", "en-US"]  # none made up by machine

    body = edit(commander, alert, {"language": "zh-HK", "headline": "深圳河水位超警戒，請沿河居民撤離",
                                   "description": "深圳河水位持續上漲。"})
    assert [info["language"] for info in body["info"]] == ["zh-CN", "zh-HK", "en-US"]
    assert texts(body)["zh-HK"][:2] == ("深圳河水位超警戒，請沿河居民撤離", "深圳河水位持續上漲。")
    # A block written since the last agreement is not a drift of the others.
    assert body["languages_in_step"] is True

    document = commander.get(f"/api/v1/alerts/{alert['id']}/cap/").content
    assert_valid_cap(document)
    root = etree.fromstring(document)
    infos = root.findall(f"{CAP}info")
    assert [info.findtext(f"{CAP}language") for info in infos] == ["zh-CN", "zh-HK", "en-US"]
    assert all(info.find(f"{CAP}area/{CAP}geocode") is not None for info in infos)


def test_a_traditional_block_given_with_the_draft_is_written(commander, shenzhen_incident):
    incident = shenzhen_incident(affected_area=SHENZHEN_HONG_KONG_AREA)
    alert = draft(commander, incident, info=[{"language": "zh-HK", "headline": "深圳河水位超警戒"}])
    assert [info["language"] for info in alert["info"]] == ["zh-CN", "zh-HK", "en-US"]
    assert alert["languages_in_step"] is True
    assert_valid_cap(commander.get(f"/api/v1/alerts/{alert['id']}/cap/").content)


# --- the draft's page: side by side, in the reader's language ------------------------------------------

DRIFT = {
    "zh-hans": ("中文已修改，英文未修改", "繁体中文（香港）", "各语言措辞"),
    "zh-hant": ("中文已修改，英文未修改", "繁體中文（香港）", "各語言措辭"),
    "en": ("Chinese changed, English not changed", "Traditional Chinese (Hong Kong)",
           "The wording, language by language"),
}


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_the_drafts_page_shows_the_blocks_side_by_side_and_says_which_changed(
        commander, shenzhen_incident, browse_as, language):  # noqa: F811
    alert = draft(commander, shenzhen_incident(affected_area=SHENZHEN_HONG_KONG_AREA))
    edit(commander, alert, {"language": "zh-CN", "headline": "深圳河水位超警戒"})
    officer_client = browse_as(SHENZHEN, "commander", language=language)

    html = officer_client.get(f"/alerts/{alert['id']}/").content.decode()
    drift, hong_kong, heading = DRIFT[language]
    assert drift in html and heading in html
    # One column per language, each field with its counterpart: zh-CN, Hong Kong's (empty, to
    # fill: Hong Kong is affected) and English, in the grid the stylesheet lays out side by side.
    form = html[html.index('id="alert-wording-form"'):]
    form = form[:form.index("</form>")]
    assert form.count('class="language-block"') == 3 and 'class="language-blocks"' in form
    assert [form.index(f'data-language="{code}"') for code in ("zh-CN", "zh-HK", "en-US")] == sorted(
        form.index(f'data-language="{code}"') for code in ("zh-CN", "zh-HK", "en-US"))
    assert hong_kong in form and 'name="headline_hk"' in form and 'lang="zh-HK"' in form
    assert 'value="深圳河水位超警戒"' in form
    assert 'name="confirm_languages"' in html  # the approve form asks for the confirmation
    # No language code where a person reads (the codes are only the attributes' values).
    visible = re.sub(r'(data-language|lang)="[^"]*"', "", form + html[html.index('id="language-drift"'):][:300])
    assert not re.search(r"\b(zh-CN|zh-HK|en-US)\b", visible)


def test_a_draft_of_shenzhen_alone_offers_no_traditional_block(commander, shenzhen_incident, browse_as):  # noqa: F811
    alert = draft(commander, shenzhen_incident())  # Shenzhen and Dongguan
    html = browse_as(SHENZHEN, "commander", language="zh-hans").get(f"/alerts/{alert['id']}/").content.decode()
    form = html[html.index('id="alert-wording-form"'):]
    assert form[:form.index("</form>")].count('class="language-block"') == 2
    assert 'name="confirm_languages"' not in html and "各语言内容不一致" not in html


def test_in_the_ui_approval_of_a_drifted_draft_needs_the_confirmation(commander, shenzhen_incident, browse_as):  # noqa: F811
    alert = draft(commander, shenzhen_incident(affected_area=SHENZHEN_HONG_KONG_AREA))
    client = browse_as(SHENZHEN, "commander", language="zh-hans")
    response = client.post(f"/alerts/{alert['id']}/wording/", {
        "headline_zh": "深圳河水位超警戒", "headline_hk": "深圳河水位超警戒", **{
            f"{name}_en": value for name, value in zip(("headline", "description", "instruction"),
                                                       texts(alert)["en-US"], strict=True)}})
    assert response.status_code == 302, response.content.decode()[:3000]
    body = commander.get(f"/api/v1/alerts/{alert['id']}/").json()
    assert (body["languages_changed"], body["languages_unchanged"]) == (["zh-CN"], ["en-US"])
    assert texts(body)["zh-HK"][0] == "深圳河水位超警戒"

    response = client.post(f"/alerts/{alert['id']}/approve/", follow=True)
    assert f"预警 {alert['identifier']} 的各语言内容不一致：中文已修改，英文未修改。" in response.content.decode()
    assert Alert.objects.get(pk=alert["id"]).state == "draft"
    response = client.post(f"/alerts/{alert['id']}/approve/", {"confirm_languages": "on"})
    assert response.status_code == 302 and Alert.objects.get(pk=alert["id"]).state == "active"


def test_the_draft_form_on_the_incidents_page_offers_hong_kongs_block(commander, shenzhen_incident, browse_as):  # noqa: F811
    incident = shenzhen_incident(affected_area=SHENZHEN_HONG_KONG_AREA)
    html = browse_as(SHENZHEN, "commander", language="en").get(f"/incidents/{incident['id']}/").content.decode()
    form = html[html.index('id="alert-draft-form"'):]
    form = form[:form.index("</form>")]
    assert form.count('class="language-block"') == 3 and "Traditional Chinese (Hong Kong)" in form
