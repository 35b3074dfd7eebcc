"""The four shipped playbooks (playbooks/*.json), loaded by `manage.py load_demo`.

Loading is safe to repeat, and brings the demo's own playbooks up to date: a shipped playbook
that is missing is created; one that is still the demo's and unedited takes the shipped
version (its texts in three languages included), through playbook_update like any change, so
runs under way keep the version they froze and new runs take this one; one a person has
edited is left as it is (their version is the one in force).

"The demo's and unedited" is read from the row's `updated_by`, which every write of a playbook
sets: DEMO_AUTHOR when this loader wrote it last. A row loaded before this rule says "system"
(the command's actor); at version 1 it was never changed since it was created, so it is the
demo's too. Any edit, in the API, the admin or by another command, sets another `updated_by`
or a later version, and from then on the row is the person's.
"""

import json
from pathlib import Path

from django.db import transaction

from coordination.workflows.models import AgendaItem, Playbook, Task
from coordination.workflows.runs import ENGINE
from coordination.workflows.services.playbooks import playbook_create, playbook_update
from coordination.workflows.texts import plain

PLAYBOOK_DIR = Path(__file__).resolve().parent / "playbooks"
DEMO_AUTHOR = "load_demo"
# What playbook_create and playbook_update write as `updated_by` with no actor.
_SYSTEM = "system"


def shipped_playbooks() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(PLAYBOOK_DIR.glob("*.json"))]


def shipped_fields(data: dict) -> dict:
    """A shipped playbook as playbook_create takes it. Its description lives in its definition,
    in three languages beside every other text of it; the row's `description` keeps the English
    (the API's plain field, as Task.title beside title_texts)."""
    definition = data["definition"]
    return {"name_zh": data["name_zh"], "name_en": data["name_en"],
            "description": plain(definition.get("description", "")), "definition": definition}


def demo_owned(playbook: Playbook) -> bool:
    """The row is still the demo's: this loader wrote it last, or (loaded before this rule)
    the command created it and nothing changed it since."""
    return playbook.updated_by == DEMO_AUTHOR or (playbook.updated_by == _SYSTEM and playbook.version == 1)


def load_playbooks(summary=None) -> list[Playbook]:
    """Create the shipped playbooks that are missing and bring the demo's unedited ones up to
    date; `summary` (coordination.demo.LoadSummary) counts created, updated, unchanged and kept."""
    loaded = []
    for data in shipped_playbooks():
        fields = shipped_fields(data)
        with transaction.atomic():
            # Locked first, so an edit that lands meanwhile is either before (and kept) or after.
            playbook = Playbook.objects.select_for_update().filter(code=data["code"]).first()
            created, changed, kept = playbook is None, False, False
            if created:
                playbook = playbook_create(actor=None, code=data["code"], **fields)
            elif demo_owned(playbook):
                version = playbook.version
                playbook = playbook_update(actor=None, playbook=playbook, **fields)
                changed = playbook.version != version
            else:
                kept = True
            if not kept and playbook.updated_by != DEMO_AUTHOR:
                Playbook.objects.filter(pk=playbook.pk).update(updated_by=DEMO_AUTHOR)
                playbook.updated_by = DEMO_AUTHOR
        if summary is not None:
            summary.count("playbooks", created, changed=changed, kept=kept)
        translate_what_runs_made(data, summary)
        loaded.append(playbook)
    return loaded


def translate_what_runs_made(data: dict, summary=None) -> None:
    """Tasks and agenda items that runs of a shipped playbook made before its texts had their
    languages keep only the English title: those the engine made (created_by names it and the
    playbook) whose title is a shipped text's English take its three languages, so a joint
    command still open reads in the reader's language too. What a person wrote is not touched."""
    by = f"{ENGINE} ({data['code']})"
    for english, texts in shipped_titles(data["definition"]).items():
        tasks = Task.objects.filter(created_by=by, title=english, title_texts={}).update(title_texts=texts)
        items = AgendaItem.objects.filter(meeting__created_by=by, title=english,
                                          title_texts={}).update(title_texts=texts)
        for _ in range(tasks + items if summary is not None else 0):
            summary.count("task and agenda titles", False, changed=True)


def shipped_titles(definition: dict) -> dict[str, dict]:
    """English → the three languages, of a definition's task titles and agenda items."""
    found = {}
    for step in definition["steps"]:
        for text in [task["title"] for task in step.get("tasks", ())] + list(step.get("agenda", ())):
            if isinstance(text, dict):
                found[plain(text)] = dict(text)
    return found
