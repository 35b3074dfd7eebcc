"""Issue 19: when deadlines do not run as the playbooks say (DEADLINE_SCALE is not 1), every page
says so, in the reader's language, and how fast they run."""

import pytest

from tests.conftest import SHENZHEN

PAGES = ["/", "/incidents/", "/resources/"]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_at_the_playbooks_speed_no_page_speaks_of_drill_speed(browse_as, settings, language):
    settings.DEADLINE_SCALE = 1.0
    client = browse_as(SHENZHEN, "operator", language=language)
    for page in PAGES:
        html = client.get(page).content.decode()
        assert 'class="drill-speed"' not in html, page


@pytest.mark.parametrize("language, words", [
    ("zh-hans", "演练速度：各项时限按预案规定的 100 倍速计时。"),
    ("en", "Drill speed: deadlines run 100× faster than the playbooks say."),
])
def test_at_drill_speed_every_page_says_how_fast_deadlines_run(browse_as, settings, language, words):
    settings.DEADLINE_SCALE = 0.01
    client = browse_as(SHENZHEN, "operator", language=language)
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert f'<p class="drill-speed" role="note">{words}</p>' in html, page


def test_a_slowed_down_server_says_so_too(browse_as, settings):
    settings.DEADLINE_SCALE = 2.0
    html = browse_as(SHENZHEN, "operator", language="en").get("/").content.decode()
    assert "Slowed down: deadlines run 2× slower than the playbooks say." in html
