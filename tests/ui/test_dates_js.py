"""The page scripts write a moment as the server does (ui/dates.py): the live feed's lines and the
header clock read like the lines around them, in each language (common.js, formatMoment). Run
with Node on common.js itself; skipped where there is no `node`."""

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import formats, translation

from ui import dates

COMMON = Path(__file__).resolve().parents[2] / "ui" / "static" / "ui" / "js" / "common.js"
ZONE = "Asia/Shanghai"
MOMENTS = ["2026-12-07T02:01:48+00:00", "2026-09-30T16:00:05+00:00", "2027-01-01T00:59:00+08:00",
           "2026-03-04T15:30:00+00:00", "2026-09-10T02:00:00+00:00"]

SCRIPT = """
globalThis.document = {body: {dataset: {lang: %(lang)s, tz: %(tz)s}}, getElementById: () => null,
                       addEventListener: () => {}};
const common = await import(%(url)s);
const out = [];
for (const iso of %(moments)s) {
  const moment = new Date(iso);
  out.push([common.formatMoment(moment), common.formatMoment(moment, {year: true, seconds: true})]);
}
console.log(JSON.stringify(out));
"""


def script_says(lang: str) -> list[list[str]]:
    code = SCRIPT % {"lang": json.dumps(lang), "tz": json.dumps(ZONE), "url": json.dumps(COMMON.as_uri()),
                     "moments": json.dumps(MOMENTS)}
    result = subprocess.run(["node", "--input-type=module", "-e", code], capture_output=True, text=True,
                            check=True, timeout=60)
    return json.loads(result.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the page script")
@pytest.mark.parametrize("language, lang", [("zh-hans", "zh-CN"), ("zh-hant", "zh-HK"), ("en", "en-GB")])
def test_the_script_writes_moments_as_the_server_does(settings, language, lang):
    settings.TIME_ZONE = ZONE
    said = script_says(lang)
    with translation.override(language):
        full, short = dates._formats()
        for iso, (script_short, script_full) in zip(MOMENTS, said, strict=True):
            moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE))
            assert script_short == formats.date_format(moment, short), iso
            assert script_full == formats.date_format(moment, full.replace("H:i", "H:i:s")), iso
