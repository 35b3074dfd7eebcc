"""Mutual aid on the incident's timeline in the reader's language (sharing.mutualaid.timeline keeps
each line as a code and parameters; ui/timeline.py writes it): jurisdiction names, resource and
unit words, times in the language's format; no code, no ISO timestamp, no English sentence on a
Chinese page. An entry stored as text before the notes existed still reads as it was written."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.test_timeline_notes import timeline_of

pytestmark = pytest.mark.django_db

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# An English sentence of the mutual-aid lines, or one of their English words.
ENGLISH = re.compile(r"asks for|mutual aid|offers|accepts|committed|dispatched|needed by|request #|vessel|"
                     r"Rescue boat|\(set\)|\(team\)", re.IGNORECASE)


@pytest.fixture
def aid_lines(gba, browse_as, reported):
    """Shenzhen asks for 4 rescue boats for its flood, widens the request, Dongguan offers 3,
    Shenzhen accepts them, Dongguan dispatches them, then Shenzhen asks for 2 more and cancels."""
    from sharing.mutualaid.catalogue import load_catalogue
    from sharing.mutualaid.models import ResourceType
    from sharing.mutualaid.services.inventories import inventory_upsert
    from sharing.mutualaid.services.offers import commitment_move, offer_accept, offer_create
    from sharing.mutualaid.services.requests import (
        resource_request_cancel,
        resource_request_create,
        resource_request_widen,
    )

    load_catalogue(ResourceType)
    inventory_upsert(actor=None, jurisdiction=DONGGUAN, data={"resource_type": "rescue_boat", "on_hand": 6})
    incident = reported(SHENZHEN, level="III", title="坪山河洪水")
    shenzhen = browse_as(SHENZHEN, "commander").principal
    dongguan = browse_as(DONGGUAN, "commander").principal
    request = resource_request_create(actor=shenzhen, data={
        "incident": incident.public_id, "resource_type": "rescue_boat", "quantity": 4,
        "needed_by": timezone.now() + timedelta(hours=6)})
    resource_request_widen(actor=shenzhen, request_id=request.pk)
    offer = offer_create(actor=dongguan, request_id=request.pk, data={"quantity": 3})
    offer_accept(actor=shenzhen, request_id=request.pk, offer_id=offer.pk)
    commitment_move(actor=dongguan, request_id=request.pk, action="dispatch")
    second = resource_request_create(actor=shenzhen, data={
        "incident": incident.public_id, "resource_type": "search_rescue_team", "quantity": 2,
        "needed_by": timezone.now() + timedelta(hours=2)})
    resource_request_cancel(actor=shenzhen, request_id=second.pk, reason="水位回落")
    return incident, request, second


def aid_part(html: str) -> list[str]:
    """The mutual-aid entries of the timeline as the officer reads them (its time, kind, who and
    line), without the test officers' user names (made of their jurisdiction's code)."""
    items = re.findall(r'<li class="kind-mutual_aid"[^>]*>(.*?)</li>', html, re.DOTALL)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip() for item in items]
    return [re.sub(r"\(ui-\w+-\d+-\d+\)", "", line) for line in text]


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
def test_a_chinese_reader_reads_every_mutual_aid_line_in_chinese(browse_as, aid_lines, language):
    incident, request, second = aid_lines
    html = timeline_of(browse_as(SHENZHEN, language=language), incident)
    lines = aid_part(html)
    assert len(lines) == 7, lines
    text = "\n".join(lines)
    assert SHENZHEN not in text and DONGGUAN not in text and "GBA" not in text
    assert not ISO_TIME.search(text), text
    assert not ENGLISH.search(text), text
    if language == "zh-hans":
        assert "深圳市请求互助支援：冲锋舟 4艘，需于" in text
        assert f"互助请求 #{request.pk} 已发往整个粤港澳大湾区。" in text
        assert f"东莞市为互助请求 #{request.pk} 提供 3艘。" in text
        assert "深圳市接受东莞市提供的 3艘：已承诺调用。" in text
        assert f"互助请求 #{request.pk}：3艘已派出（东莞市）。" in text
        assert "深圳市请求互助支援：搜救队 2队" in text
        assert f"互助请求 #{second.pk} 已由深圳市取消。水位回落" in text
    else:
        # Traditional characters for our own words; names are data, written as the registry holds them.
        assert "請求互助支援：" in text and "已派出（" in text and "需於" in text
        assert "请求互助支援" not in text


def test_an_english_reader_reads_names_and_words_not_codes(browse_as, aid_lines):
    incident, request, second = aid_lines
    lines = aid_part(timeline_of(browse_as(SHENZHEN, language="en"), incident))
    text = "\n".join(lines)
    assert SHENZHEN not in text and DONGGUAN not in text
    assert not ISO_TIME.search(text), text
    assert re.search(r"Shenzhen asks for mutual aid: 4 vessel of Rescue boat, needed by \d+ \w{3}", text), text
    assert f"Dongguan offers 3 vessel for mutual-aid request #{request.pk}." in text
    assert f"Mutual aid #{request.pk}: 3 vessel dispatched (Dongguan)." in text
    assert "sent to the whole Guangdong" in text
    assert not re.search(r"[\u4e00-\u9fff]", text.replace("水位回落", "")), text


def test_a_line_stored_as_text_before_the_notes_reads_as_written(browse_as, reported):
    from incidents.models import TimelineEntry

    incident = reported(SHENZHEN, level="III")
    old = "440300 asks for mutual aid: 4 vessel of 冲锋舟 (Rescue boat), needed by 2026-12-07T02:01:48+00:00."
    TimelineEntry.objects.create(incident=incident, kind="mutual_aid", text=old, data={"resource_request": 1},
                                 at=timezone.now())
    assert old in timeline_of(browse_as(SHENZHEN, language="zh-hans"), incident)


def test_the_api_keeps_the_english_text(aid_lines):
    from incidents.models import TimelineEntry

    incident, request, second = aid_lines
    texts = list(TimelineEntry.objects.filter(incident=incident, kind="mutual_aid").order_by("id")
                 .values_list("text", flat=True))
    assert texts[0].startswith(f"{SHENZHEN} asks for mutual aid: 4 vessel of 冲锋舟 (Rescue boat), needed by ")
    assert texts[-1] == f"Mutual-aid request #{second.pk} cancelled by {SHENZHEN}. 水位回落"


@pytest.mark.parametrize("language, signed", [
    ("zh-hans", "深圳市 (跨界洪涝台风联防联控预案)"),
    ("zh-hant", "深圳市 (跨界洪涝台风联防联控预案)"),
    ("en", "Shenzhen (Playbook “Cross-border flood and typhoon”)"),
])
def test_an_entry_the_playbook_engine_wrote_names_the_playbook(browse_as, reported, playbooks, language, signed):
    """The engine signs what it does for a jurisdiction "Liandong playbook engine (<code>)"
    (coordination.workflows.steps): the reader sees the playbook's name in its language."""
    from coordination.workflows.runs import ENGINE
    from incidents.models import TimelineEntry

    incident = reported(SHENZHEN, level="III")
    TimelineEntry.objects.create(incident=incident, kind="mutual_aid", at=timezone.now(), text="x",
                                 author=f"{ENGINE} (cross-border-flood-typhoon)", author_jurisdiction=SHENZHEN)
    html = timeline_of(browse_as(SHENZHEN, language=language), incident)
    assert signed in re.sub(r"\s+", " ", html)
    assert ENGINE not in html and "cross-border-flood-typhoon" not in html
