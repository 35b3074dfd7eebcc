"""Playbook texts in three languages (coordination.workflows.texts, issue 19): every text a
person reads in the shipped playbooks has zh-hans, zh-hant and en; the schema refuses a dict
without zh-hans or en and still takes a plain string; what a running flood creates (tasks,
agenda items, the notify message, the alert draft) reads in each reader's language."""

import copy
import json
import re
from pathlib import Path

import pytest

from config.errors import ValidationFailed
from coordination.workflows.definitions import definition_validated
from coordination.workflows.texts import localized
from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.conftest import (  # noqa: F401 (fixtures)
    browse_as,
    cross_border_area,
    officer,
    reported,
    run_playbooks,
)

PLAYBOOK_DIR = Path(__file__).resolve().parents[2] / "coordination" / "workflows" / "playbooks"
FLOOD = json.loads((PLAYBOOK_DIR / "cross-border-flood-typhoon.json").read_text(encoding="utf-8"))
CJK = re.compile(r"[\u4e00-\u9fff]")
# Characters a Simplified text has and a Traditional one never does (台风 → 颱風, 联 → 聯 …).
SIMPLIFIED_ONLY = re.compile("[风时联预报关处协调难态势测检离闸护须门业]")

TASK = {"zh-hans": "每小时共享水位、雨量和台风路径", "zh-hant": "每小時共享水位、雨量和颱風路徑",
        "en": "Share water levels, rainfall and the typhoon track every hour"}
AGENDA = {"zh-hans": "水库泄洪和防洪闸门", "zh-hant": "水庫泄洪和防洪閘門", "en": "Reservoir releases and flood gates"}
WARNING = FLOOD["definition"]["steps"][0]["message"]


def texts_of(definition: dict) -> list:
    """Every text a person reads in a definition (definitions.py names them)."""
    found = []
    for step in definition["steps"]:
        found += [step[key] for key in ("title", "message", "reason", "headline", "instruction") if step.get(key)]
        found += [task["title"] for task in step.get("tasks", ())]
        found += list(step.get("agenda", ()))
    return found


@pytest.mark.parametrize("path", sorted(PLAYBOOK_DIR.glob("*.json")), ids=lambda path: path.stem)
def test_every_shipped_playbook_text_is_in_three_languages(path):
    data = json.loads(path.read_text(encoding="utf-8"))
    found = texts_of(data["definition"])
    assert len(found) >= 6
    for text in found:
        assert isinstance(text, dict) and set(text) == {"zh-hans", "zh-hant", "en"}, text
        assert CJK.search(text["zh-hans"]) and CJK.search(text["zh-hant"]), text
        assert not CJK.search(text["en"]), text
        assert not SIMPLIFIED_ONLY.search(text["zh-hant"]), text
    assert definition_validated(data["definition"])  # the schema takes them as shipped


def test_a_text_without_simplified_chinese_or_english_is_refused_and_a_plain_string_is_taken():
    broken = copy.deepcopy(FLOOD["definition"])
    broken["steps"][0]["message"] = {"zh-hant": "只有繁體", "en": "English only"}
    with pytest.raises(ValidationFailed) as refused:
        definition_validated(broken)
    assert "definition.steps.0.message" in refused.value.errors
    broken["steps"][0]["message"] = {"zh-hans": "只有简体"}
    with pytest.raises(ValidationFailed):
        definition_validated(broken)
    broken["steps"][0]["message"] = {"zh-hans": "简体", "en": "English", "fr": "Français"}
    with pytest.raises(ValidationFailed):
        definition_validated(broken)
    broken["steps"][3]["tasks"][0]["title"] = {"zh-hans": "", "en": "Blank Chinese"}
    broken["steps"][0]["message"] = "A hand-written message"
    with pytest.raises(ValidationFailed) as refused:
        definition_validated(broken)
    assert list(refused.value.errors) == ["definition.steps.3.tasks.0.title"]
    broken["steps"][3]["tasks"][0]["title"] = "A hand-written task"
    frozen = definition_validated(broken)
    assert frozen["steps"][0]["message"] == "A hand-written message"
    # zh-hant may be left out: a Traditional reader then reads the Simplified.
    broken["steps"][0]["message"] = {"zh-hans": "简体", "en": "English"}
    assert localized(definition_validated(broken)["steps"][0]["message"], "zh-hant") == "简体"


@pytest.mark.parametrize(("language", "expected"), [
    ("zh-hans", "每小时共享水位、雨量和台风路径"), ("zh-hant", "每小時共享水位、雨量和颱風路徑"),
    ("zh-HK", "每小時共享水位、雨量和颱風路徑"), ("zh-CN", "每小时共享水位、雨量和台风路径"),
    ("en", "Share water levels, rainfall and the typhoon track every hour"),
    ("en-US", "Share water levels, rainfall and the typhoon track every hour"),
])
def test_localized_reads_the_readers_language(language, expected):
    assert localized(TASK, language) == expected
    assert localized("As written", language) == "As written"
    older = localized({"zh": "旧的", "en": "Old pair"}, language)
    assert older == ("Old pair" if language.startswith("en") else "旧的")


# --- a running flood ----------------------------------------------------------------------------------


@pytest.fixture
def playbooks(gba):
    """The shipped playbooks loaded (run_playbooks asks for them)."""
    from coordination.workflows.demo import load_playbooks

    return load_playbooks()


@pytest.fixture
def flood(reported, run_playbooks):  # noqa: F811
    """Shenzhen reports a level II flood that crosses into Dongguan; the playbook notifies,
    opens a joint command with tasks and convenes the committee."""
    incident = reported(SHENZHEN, level="II", title="观澜河水位超警戒", affected_area=cross_border_area())
    run_playbooks()
    return incident


def page_text(client, path: str) -> str:
    response = client.get(path, HTTP_HX_REQUEST="true") if path.startswith("/fragments/") else client.get(path)
    assert response.status_code == 200
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_a_running_flood_reads_in_each_readers_language(browse_as, flood, language):  # noqa: F811
    from coordination.workflows.models import AgendaItem, Task

    command = page_text(browse_as(DONGGUAN, "commander", language=language), "/command/")
    assert TASK[language] in command
    assert AGENDA[language] in command
    others = [text for key, text in (*TASK.items(), *AGENDA.items()) if key != language and text not in (
        TASK[language], AGENDA[language])]
    assert not [text for text in others if text in command], others
    inbox = page_text(browse_as(DONGGUAN, "operator", language=language), "/fragments/owed/")
    assert WARNING[language] in inbox
    assert TASK[language] in inbox
    # The feed's task lines read the same way (once the engine's events are numbered).
    from sharing.eventlog import sequence_pending

    sequence_pending()
    feed = page_text(browse_as(DONGGUAN, "operator", language=language), "/fragments/feed/")
    assert TASK[language] in feed, feed[:2000]
    # The rows keep the three languages beside their English title (the API's `title`).
    task = Task.objects.filter(incident_id=flood.public_id, title_texts__en=TASK["en"]).first()
    assert task is not None and task.title == TASK["en"] and task.title_texts == TASK
    assert AgendaItem.objects.get(meeting__run__incident_id=flood.public_id, title=AGENDA["en"]).title_texts == AGENDA


def test_the_drafted_alert_has_the_chinese_headline_in_its_chinese_block(flood, principal_for, run_playbooks):  # noqa: F811
    from coordination.workflows.models import Acknowledgement
    from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge
    from incidents.alerts.models import Alert, AlertState

    ack = Acknowledgement.objects.get(incident_id=flood.public_id, jurisdiction_id=DONGGUAN, escalation_of=None)
    acknowledgement_acknowledge(actor=principal_for(DONGGUAN, role="operator"), acknowledgement_id=ack.pk)
    run_playbooks()
    alert = Alert.objects.get(incident__public_id=flood.public_id, state=AlertState.DRAFT)
    blocks = {info.language: info for info in alert.infos.all()}
    step = next(step for step in FLOOD["definition"]["steps"] if step["kind"] == "publish_alert")
    assert blocks["zh-CN"].headline == step["headline"]["zh-hans"]
    assert blocks["zh-CN"].instruction == step["instruction"]["zh-hans"]
    assert blocks["en-US"].headline == step["headline"]["en"]
    assert blocks["en-US"].instruction == step["instruction"]["en"]


def test_a_playbook_written_in_plain_strings_still_runs_and_shows_them_as_written(
        browse_as, playbooks, reported, run_playbooks):  # noqa: F811
    from coordination.workflows.models import Playbook

    definition = copy.deepcopy(FLOOD["definition"])
    for step in definition["steps"]:
        for key in ("message", "reason", "headline", "instruction"):
            if isinstance(step.get(key), dict):
                step[key] = step[key]["en"]
        for task in step.get("tasks", ()):
            task["title"] = "Hand-written: " + task["title"]["en"]
        step["agenda"] = ["Hand-written: " + item["en"] for item in step.get("agenda", ())]
        if not step["agenda"]:
            del step["agenda"]
    Playbook.objects.filter(code=FLOOD["code"]).update(definition=definition_validated(definition))
    reported(SHENZHEN, level="II", title="观澜河水位超警戒", affected_area=cross_border_area())
    run_playbooks()
    command = page_text(browse_as(DONGGUAN, "commander", language="zh-hans"), "/command/")
    assert "Hand-written: " + TASK["en"] in command and "Hand-written: " + AGENDA["en"] in command
    inbox = page_text(browse_as(DONGGUAN, "operator", language="zh-hans"), "/fragments/owed/")
    assert WARNING["en"] in inbox


def test_a_flood_reaching_hong_kong_drafts_its_traditional_block_from_the_playbook(
        reported, run_playbooks, principal_for):  # noqa: F811
    from coordination.workflows.models import Acknowledgement, AckStatus
    from coordination.workflows.services.acknowledgements import acknowledgement_acknowledge
    from incidents.alerts.models import Alert, AlertState

    across = {"circle": {"lat": 22.53, "lon": 114.10, "radius_m": 9000}}  # Shenzhen River: Shenzhen and Hong Kong
    flood = reported(SHENZHEN, level="II", title="深圳河水位超警戒", affected_area=across)
    run_playbooks()
    asked = list(Acknowledgement.objects.filter(incident_id=flood.public_id, status=AckStatus.PENDING))
    assert "810000" in {ack.jurisdiction_id for ack in asked}
    for ack in asked:
        actor = principal_for(ack.jurisdiction_id, role="operator")
        acknowledgement_acknowledge(actor=actor, acknowledgement_id=ack.pk)
    run_playbooks()
    alert = Alert.objects.get(incident__public_id=flood.public_id, state=AlertState.DRAFT)
    blocks = {info.language: info for info in alert.infos.all()}
    step = next(step for step in FLOOD["definition"]["steps"] if step["kind"] == "publish_alert")
    assert blocks["zh-HK"].headline == step["headline"]["zh-hant"]
    assert blocks["zh-CN"].headline == step["headline"]["zh-hans"]
    assert "zh-MO" not in blocks


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_task_moved_reads_on_the_timeline_in_the_readers_language(browse_as, flood, principal_for,  # noqa: F811
                                                                    language):
    from coordination.workflows.models import Task
    from coordination.workflows.services.joint_commands import task_transition

    task = Task.objects.get(incident_id=flood.public_id, assignee_id=DONGGUAN, title=TASK["en"])
    task_transition(actor=principal_for(DONGGUAN, role="operator"), task_id=task.pk, status="in_progress")
    page = page_text(browse_as(SHENZHEN, "operator", language=language), f"/incidents/{flood.public_id}/")
    timeline = page[page.index(TASK[language]):] if TASK[language] in page else ""
    assert timeline, page[:3000]
    other = TASK["en" if language != "en" else "zh-hans"]
    assert other not in page
