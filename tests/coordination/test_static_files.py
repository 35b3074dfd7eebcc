"""`serve` collects the static files itself when the manifest lacks one: an operator on a fresh
data folder (or after an upgrade that added an asset) never meets a 500 for a missing manifest
entry (config.storage)."""

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import engines


@pytest.fixture
def manifest_storage(settings, tmp_path):
    """The production storage (tests use the plain one, see tests/conftest.py) on an empty STATIC_ROOT."""
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": "config.storage.StaticFilesStorage"}}
    return staticfiles_storage  # set up anew on each settings change (Django's setting_changed receivers)


def render_stylesheet_link() -> str:
    return engines["django"].from_string("{% load static %}{% static 'ui/ui.css' %}").render({})


def test_a_fresh_data_folder_has_everything_uncollected_and_a_page_would_fail(manifest_storage):
    from config.storage import uncollected_static_files

    missing = uncollected_static_files()
    assert "ui/ui.css" in missing and "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in missing
    with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        render_stylesheet_link()


def test_serve_collects_what_is_missing_once(manifest_storage, settings):
    from config.storage import ensure_static_files_collected, uncollected_static_files

    said = []
    ensure_static_files_collected(said.append)
    assert len(said) == 1 and str(settings.STATIC_ROOT) in said[0]
    assert uncollected_static_files() == []
    assert render_stylesheet_link().startswith("/static/ui/ui.") and render_stylesheet_link() != "/static/ui/ui.css"

    ensure_static_files_collected(said.append)  # all there: nothing to do, nothing said
    assert len(said) == 1


def test_serve_refuses_to_start_with_one_line_when_it_cannot_collect(manifest_storage, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    settings.STATIC_ROOT = blocker / "static"
    with pytest.raises(CommandError, match="run `python manage.py collectstatic --no-input`"):
        call_command("serve", "--port", "1")
