"""The live feed's script writes an event's title as the server does (ui/feed.py, issue 19): a
task a playbook wrote in three languages in the reader's (it arrived in English on a Chinese
page), an alert's headline from the reader's block. Run with Node on feed.js itself, with the
words the page gives it; skipped where there is no `node`."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

from ui import feed

pytestmark = pytest.mark.django_db

FEED = Path(__file__).resolve().parents[2] / "ui" / "static" / "ui" / "js" / "feed.js"
TASK = {"title": "Share water levels, rainfall and the typhoon track every hour", "incident": "INC-2026-000001",
        "title_texts": {"zh-hans": "每小时共享水位、雨量和台风路径", "zh-hant": "每小時共享水位、雨量和颱風路徑",
                        "en": "Share water levels, rainfall and the typhoon track every hour"}}
ALERT = {"id": "00000000-0000-0000-0000-000000000001", "identifier": "INC-2026-000001-A1", "info": [
    {"language": "zh-CN", "headline": "受影响城市洪涝和台风预警"},
    {"language": "zh-HK", "headline": "受影響城市洪澇和颱風預警"},
    {"language": "en-US", "headline": "Flood and typhoon warning for the affected cities"}]}
EVENTS = [("task.created", TASK), ("task.moved", {**TASK, "title_texts": {}}), ("alert.issued", ALERT),
          ("alert.issued", {**ALERT, "info": ALERT["info"][2:]})]
ENGLISH = ALERT["info"][2]["headline"]
EXPECTED = {"zh-hans": ["每小时共享水位、雨量和台风路径", TASK["title"], "受影响城市洪涝和台风预警", ENGLISH],
            "zh-hant": ["每小時共享水位、雨量和颱風路徑", TASK["title"], "受影響城市洪澇和颱風預警", ENGLISH],
            "en": [TASK["title"], TASK["title"], ENGLISH, ENGLISH]}

SCRIPT = """
const words = {textContent: %(words)s};
globalThis.document = {body: {dataset: {lang: 'en', tz: 'Asia/Shanghai'}},
                       getElementById: (id) => (id === 'ld-feed-words' ? words : null), addEventListener: () => {}};
const feed = await import(%(url)s);
console.log(JSON.stringify(%(events)s.map(([event, data]) => feed.title(event, data))));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the page script")
@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_the_script_titles_an_event_in_the_readers_language_as_the_server_does(gba, principal_for, language):
    with translation.override(language):
        words = feed.feed_words(principal=principal_for("440300"))
        server = [feed.summary({"seq": 1, "at": "2026-12-07T02:01:48+00:00", "event": event, "data": data}).title
                  for event, data in EVENTS]
    code = SCRIPT % {"words": json.dumps(json.dumps(words)), "url": json.dumps(FEED.as_uri()),
                     "events": json.dumps(EVENTS)}
    result = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert json.loads(result.stdout) == server == EXPECTED[language]
