"""The demo cluster's own names in each reader's language (issue 19): jurisdictions, the
cluster and coordination bodies in Simplified, Traditional (name_zh_hant, as Hong Kong and
Macao write them) and English; the demo depots' names likewise (ui.registry.depot_name)."""

import json
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.utils import translation

from tests.conftest import GBA_CODES, GUANGZHOU, HONG_KONG, MACAO, SHENZHEN

pytestmark = pytest.mark.django_db

GBA = json.loads((Path(__file__).resolve().parents[2] / "coordination" / "demo" / "gba.json").read_text("utf-8"))
SIMPLIFIED_ONLY = "广东门湾联议庆别区会应"


def rendered(template: str, language: str, **context) -> str:
    with translation.override(language):
        return Template("{% load ui_tags %}" + template).render(Context(context))


@pytest.mark.parametrize(("language", "guangzhou", "hong_kong", "macao"), [
    ("zh-hans", "广州市", "香港特别行政区", "澳门特别行政区"),
    ("zh-hant", "廣州市", "香港特別行政區", "澳門特別行政區"),
    ("en", "Guangzhou", "Hong Kong SAR", "Macao SAR"),
])
def test_jurisdiction_names_read_in_each_language(gba, language, guangzhou, hong_kong, macao):
    assert rendered("{{ code|jname }}", language, code=GUANGZHOU) == guangzhou
    assert rendered("{{ code|jname }}", language, code=HONG_KONG) == hong_kong
    assert rendered("{{ codes|jnames }}", language, codes=[GUANGZHOU, MACAO]).endswith(macao)


def test_every_demo_name_has_its_traditional_form(gba):
    from coordination.models import CoordinationBody, Jurisdiction
    from ui import registry

    rows = [*GBA["provinces"], *GBA["jurisdictions"], *GBA["coordination_bodies"], GBA["cluster"]]
    for row in rows:
        assert row["name_zh_hant"] and not set(row["name_zh_hant"]) & set(SIMPLIFIED_ONLY), row["name_zh_hant"]
    assert set(Jurisdiction.objects.filter(code__in=GBA_CODES).values_list("name_zh_hant", flat=True)) >= {
        "廣州市", "東莞市", "江門市", "肇慶市"}
    with translation.override("zh-hant"):
        assert registry.name_of("body", "GBA-COMMITTEE") == "粵港澳大灣區應急管理聯席會議"
        assert registry.home_cluster(type("P", (), {"clusters": ("GBA",)})()).name == "粵港澳大灣區"
    with translation.override("zh-hans"):
        assert registry.name_of("body", "GBA-COMMITTEE") == "粤港澳大湾区应急管理联席会议"
    with translation.override("en"):
        assert registry.name_of("body", "GBA-COMMITTEE") == CoordinationBody.objects.get(code="GBA-COMMITTEE").name_en
    # Loading again writes nothing new and keeps the Traditional names.
    from coordination.demo import load_registry

    summary = load_registry()
    assert not any(summary.created.values())
    assert Jurisdiction.objects.get(code=HONG_KONG).name_zh_hant == "香港特別行政區"


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-hans", "深圳市应急物资储备库"), ("zh-hant", "深圳市應急物資儲備庫"),
    ("en", "Shenzhen emergency reserve depot"),
])
def test_demo_depots_read_in_each_language(gba, language, expected):
    from coordination.demo import LoadSummary
    from sharing.mutualaid.demo import load_demo_stock
    from sharing.mutualaid.models import Inventory
    from ui import registry

    load_demo_stock(LoadSummary())
    stored = Inventory.objects.filter(jurisdiction_id=SHENZHEN).values_list("location_name", flat=True).first()
    assert stored == "深圳市应急物资储备库 (Shenzhen emergency reserve depot)"  # what a search matches either way
    with translation.override(language):
        assert registry.depot_name(stored) == expected
        assert registry.depot_name("香洲储备库") == "香洲储备库"  # an owner's own name, as written
    hong_kong = Inventory.objects.filter(jurisdiction_id=HONG_KONG).values_list("location_name", flat=True).first()
    if hong_kong:
        with translation.override("zh-hant"):
            assert registry.depot_name(hong_kong) == "香港特別行政區應急物資儲備庫"


@pytest.mark.parametrize(("language", "expected", "not_expected"), [
    ("zh-hant", "深圳市應急物資儲備庫", "Shenzhen emergency reserve depot"),
    ("en", "Shenzhen emergency reserve depot", "深圳市应急物资储备库"),
])
def test_the_resources_page_shows_the_depot_in_the_readers_language(gba, browse_as, language, expected,
                                                                    not_expected):
    from coordination.demo import LoadSummary
    from sharing.mutualaid.demo import load_demo_stock

    load_demo_stock(LoadSummary())
    html = browse_as(SHENZHEN, "commander", language=language).get("/resources/").content.decode()
    # What a reader sees (the correction form's field keeps the stored name, to edit).
    page = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL))
    assert expected in page and not_expected not in page


@pytest.mark.parametrize(("language", "guangzhou", "hong_kong"), [
    ("zh-hans", "广州市联席会议委员", "香港特别行政区联席会议委员"),
    ("zh-hant", "廣州市聯席會議委員", "香港特別行政區聯席會議委員"),
    ("en", "Guangzhou committee member", "Hong Kong SAR committee member"),
])
def test_the_demo_committee_officers_are_named_in_the_readers_language(gba, language, guangzhou,
                                                                       hong_kong):
    """The demo's committee officers carry a name, not only their login (a message, the API, a
    calendar name a person), stored "Chinese (English)" and read in the reader's language:
    on the dashboard's duty board, where the committee's roster names them."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from coordination.demo import LoadSummary, load_body_officers
    from coordination.duty.demo import load_demo_rosters
    from ui import registry

    load_body_officers(LoadSummary(), "demo-password-1")
    load_demo_rosters(LoadSummary())
    stored = get_user_model().objects.get(username="committee-gz").get_full_name()
    assert stored == "广州市联席会议委员 (Guangzhou committee member)"
    with translation.override(language):
        assert registry.demo_name(stored) == guangzhou
        assert registry.demo_name(get_user_model().objects.get(username="committee-hk").first_name) == hong_kong
        assert registry.demo_name("陈志明") == "陈志明"  # a person's own name, as written
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(get_user_model().objects.get(username="committee-gz"))
    html = client.get("/").content.decode()
    board = html[html.index('id="on-duty"'):]
    board = re.sub(r"<[^>]+>", " ", board[:board.index("</div>")])
    assert guangzhou in board, board
    assert "committee member" not in board or language == "en"
