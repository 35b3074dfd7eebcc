"""load_demo again brings the demo's own playbooks up to date (issue 19): a database loaded
before the playbook texts were translated, then load_demo, then a flood reads in Chinese; a
playbook a person edited is kept as they left it; a third load changes nothing."""

import copy
import html as htmlmod
import io
import re

import pytest
from django.core.management import call_command

from coordination.workflows.texts import LANGUAGES
from tests.conftest import DONGGUAN, SHENZHEN
from tests.ui.conftest import (  # noqa: F401 (fixtures)
    browse_as,
    cross_border_area,
    officer,
    reported,
    run_playbooks,
)

pytestmark = pytest.mark.django_db

TASK = {"zh-hans": "每小时共享水位、雨量和台风路径", "zh-hant": "每小時共享水位、雨量和颱風路徑",
        "en": "Share water levels, rainfall and the typhoon track every hour"}
EDITED = "epidemic-cluster-cities"


def english_only(value):
    """A shipped text as the playbooks had it before their translation: English alone."""
    if isinstance(value, dict) and value and set(value) <= set(LANGUAGES):
        return value["en"]
    if isinstance(value, dict):
        return {key: english_only(item) for key, item in value.items()}
    if isinstance(value, list):
        return [english_only(item) for item in value]
    return value


def load_the_old_way() -> None:
    """What load_demo did before: playbook_create with no actor, English texts, the
    description on the row only."""
    from coordination.workflows.demo import shipped_playbooks
    from coordination.workflows.services.playbooks import playbook_create

    for data in shipped_playbooks():
        definition = english_only(copy.deepcopy(data["definition"]))
        description = definition.pop("description")
        playbook_create(actor=None, code=data["code"], name_zh=data["name_zh"], name_en=data["name_en"],
                        description=description, definition=definition)


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def playbooks(gba):
    """A deployment loaded before the translation, and a coordinator's edit of one playbook."""
    from coordination.workflows.models import Playbook
    from coordination.workflows.services.playbooks import playbook_update

    load_the_old_way()
    edited = Playbook.objects.get(code=EDITED)
    playbook_update(actor=None, playbook=edited, description="Our own wording, agreed with the health bureaus.")


@pytest.fixture
def reloaded(playbooks):
    """Then load_demo run again: its output."""
    return load_demo()


def page_text(client, path: str) -> str:
    html = client.get(path).content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", htmlmod.unescape(re.sub(r"<[^>]+>", " ", html)))


def test_load_demo_again_brings_the_old_english_playbooks_up_to_date(reloaded):
    from coordination.workflows.demo import DEMO_AUTHOR
    from coordination.workflows.models import Playbook

    assert "playbooks: 0 created, 3 updated, 0 unchanged, 1 kept as a person edited them" in reloaded
    flood = Playbook.objects.get(code="cross-border-flood-typhoon")
    assert flood.version == 2 and flood.updated_by == DEMO_AUTHOR
    tasks = next(step for step in flood.definition["steps"] if step["kind"] == "open_joint_command")["tasks"]
    assert tasks[0]["title"] == TASK
    assert set(flood.definition["description"]) == set(LANGUAGES)
    assert flood.description == flood.definition["description"]["en"]
    # The edited one is the person's: neither its wording nor its English-only steps touched.
    edited = Playbook.objects.get(code=EDITED)
    assert edited.description.startswith("Our own wording") and edited.version == 2
    assert "description" not in edited.definition
    # A third load writes nothing.
    again = load_demo()
    assert "playbooks: 0 created, 0 updated, 3 unchanged, 1 kept as a person edited them" in again
    assert Playbook.objects.get(code="cross-border-flood-typhoon").version == 2


@pytest.mark.parametrize("language", LANGUAGES)
def test_after_the_reload_a_flood_reads_in_chinese(reloaded, reported, run_playbooks, browse_as,  # noqa: F811
                                                   language):
    from coordination.workflows.models import Playbook

    incident = reported(SHENZHEN, level="II", title="观澜河水位超警戒", affected_area=cross_border_area())
    run_playbooks()
    client = browse_as(DONGGUAN, "commander", language=language)
    command = page_text(client, "/command/")
    assert TASK[language] in command
    if language != "en":
        assert TASK["en"] not in command
    # The incident page says what the playbook is for, in the reader's language.
    description = Playbook.objects.get(code="cross-border-flood-typhoon").definition["description"]
    page = page_text(client, f"/incidents/{incident.public_id}/")
    assert description[language] in page
    if language != "en":
        assert description["en"] not in page


def test_every_shipped_playbook_describes_itself_in_three_languages():
    from coordination.workflows.definitions import definition_validated
    from coordination.workflows.demo import shipped_fields, shipped_playbooks

    for data in shipped_playbooks():
        description = data["definition"]["description"]
        assert set(description) == set(LANGUAGES), data["code"]
        assert re.search(r"[\u4e00-\u9fff]", description["zh-hans"]) and re.search(r"[\u4e00-\u9fff]",
                                                                                  description["zh-hant"])
        assert not re.search(r"[\u4e00-\u9fff]", description["en"])
        assert definition_validated(data["definition"])["description"] == description
        assert shipped_fields(data)["description"] == description["en"]


def test_a_joint_command_opened_before_the_reload_reads_in_chinese_after_it(playbooks, reported, run_playbooks,  # noqa: F811
                                                                             browse_as):  # noqa: F811
    """Its tasks and agenda items were made with the English titles alone; load_demo gives the
    engine's ones the shipped languages (a person's task is left as written)."""
    from coordination.workflows.models import AgendaItem, Task

    incident = reported(SHENZHEN, level="II", title="观澜河水位超警戒", affected_area=cross_border_area())
    run_playbooks()
    made = Task.objects.filter(pk__in=list(Task.objects.filter(incident_id=incident.public_id, title=TASK["en"])
                                           .values_list("pk", flat=True)))
    assert made.exists() and not any(made.values_list("title_texts", flat=True))
    theirs = Task.objects.create(incident_id=incident.public_id, title=TASK["en"], assignee_id=DONGGUAN,
                                 created_by="officer-sz")
    output = load_demo()
    assert re.search(r"task and agenda titles: 0 created, \d+ updated", output), output
    assert all(texts == TASK for texts in made.values_list("title_texts", flat=True))
    assert Task.objects.get(pk=theirs.pk).title_texts == {}
    assert AgendaItem.objects.filter(meeting__run__incident_id=incident.public_id,
                                     title_texts__en="Reservoir releases and flood gates").exists()
    command = page_text(browse_as(DONGGUAN, "commander", language="zh-hans"), "/command/")
    assert TASK["zh-hans"] in command
