"""An alert's page names CAP's values in the officer's language (ui.labels.CAP_WORDS): urgency,
severity and certainty as words, not CAP's English; and says who sees the alert once, not
"草稿: 草稿：…"."""

import re

import pytest

from tests.conftest import SHENZHEN
from tests.ui.test_alerts import drafted, page_of  # noqa: F401 (drafted: a fixture)

pytestmark = pytest.mark.django_db

WORDS = {
    "zh-hans": {"Immediate": "立即行动", "Expected": "预计（一小时内行动）", "Future": "近期",
                "Extreme": "特别严重", "Severe": "严重", "Moderate": "中等", "Minor": "轻微",
                "Observed": "已发生", "Likely": "很可能", "Possible": "可能", "Unknown": "未知"},
    "zh-hant": {"Immediate": "立即行動", "Expected": "預計（一小時內行動）", "Future": "近期",
                "Extreme": "特別嚴重", "Severe": "嚴重", "Moderate": "中等", "Minor": "輕微",
                "Observed": "已發生", "Likely": "很可能", "Possible": "可能", "Unknown": "未知"},
}
TERMS = {"zh-hans": ("紧急程度、严重程度、确定程度", "可见范围", "草稿：审批发布前仅本辖区可见。"),
         "zh-hant": ("緊急程度、嚴重程度、確定程度", "可見範圍", "草稿：審批發布前僅本轄區可見。")}


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant"])
def test_a_drafts_cap_values_and_audience_read_in_chinese(browse_as, drafted, language):  # noqa: F811
    _, _, alert = drafted()
    html = page_of(browse_as(SHENZHEN, "commander", language=language), f"/alerts/{alert.pk}/")
    term, who, draft = TERMS[language]
    shown = re.findall(rf"<dt>{term}</dt><dd>(.*?)</dd>", html)
    infos = list(alert.infos.order_by("position"))
    assert shown == [" · ".join(WORDS[language][value] for value in (info.urgency, info.severity, info.certainty))
                     for info in infos]
    assert re.findall(rf"<dt>{who}</dt><dd>(.*?)</dd>", html) == [draft]  # once, not "草稿: 草稿：…"


def test_an_english_reader_reads_the_cap_words(browse_as, drafted):  # noqa: F811
    _, _, alert = drafted()
    html = page_of(browse_as(SHENZHEN, "commander", language="en"), f"/alerts/{alert.pk}/")
    shown = re.findall(r"<dt>Urgency, severity, certainty</dt><dd>(.*?)</dd>", html)
    assert len(shown) == 2 and all(not re.search(r"[\u4e00-\u9fff]", value) for value in shown)
    assert re.findall(r"<dt>Who sees it</dt><dd>(.*?)</dd>", html) == [
        "A draft: only its jurisdiction sees it until it is approved."]


@pytest.mark.parametrize("language, expected", [
    ("zh-hans", "简体"), ("zh-hant", "繁體"), ("en", "English"),
])
def test_an_alert_is_read_in_the_block_of_the_readers_script(language, expected):
    """A received alert with blocks in both Chinese scripts (zh-HK, as the Hong Kong Observatory
    writes, and zh-CN): each Chinese reader gets its own script's, before any other Chinese one."""
    from types import SimpleNamespace

    from django.utils import translation

    from ui import labels

    blocks = [SimpleNamespace(language="en-US", headline="English", event=""),
              SimpleNamespace(language="zh-HK", headline="繁體", event=""),
              SimpleNamespace(language="zh-CN", headline="简体", event="")]
    with translation.override(language):
        assert labels.in_my_language(blocks).headline == expected
        assert labels.in_my_language(list(reversed(blocks))).headline == expected
        # With one Chinese block only, either Chinese reader takes it.
        only = [blocks[0], blocks[1]] if language != "en" else blocks
        assert labels.in_my_language(only).headline == ("繁體" if language != "en" else "English")
