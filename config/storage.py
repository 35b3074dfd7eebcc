"""Static files storage: whitenoise's compressed, hashed files, with our ES modules' `import`
paths rewritten to the hashed names too.

Django rewrites the paths in `import … from "./x.js"` only when the manifest storage's
`support_js_module_import_aggregation` is on (off by default). Without it a page loads
`ui/js/dashboard.<hash>.js`, which imports `./common.js` under its unhashed name: served, but
never cached for long and never refreshed together with the module that imports it.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True


def uncollected_static_files() -> list[str]:
    """The static files the pages may name that the manifest does not list (sorted).

    With the manifest storage every `{% static %}` looks its name up in STATIC_ROOT's manifest,
    and a name it lacks is a 500 on every page that uses it: a fresh data folder, or an upgrade
    that added an asset, before `collectstatic`. Other storages serve what they find (a missing
    file is a 404 for that asset, never a failed page), so they have nothing to check here.
    """
    from django.contrib.staticfiles.finders import get_finders
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return []
    listed, _ = staticfiles_storage.load_manifest()
    wanted = set()
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):  # collectstatic's default ignore patterns
            prefix = getattr(storage, "prefix", None)
            wanted.add(f"{prefix}/{path}" if prefix else path.replace("\\", "/"))
    return sorted(wanted - listed.keys())


def ensure_static_files_collected(log) -> None:
    """Run collectstatic when the manifest lacks a file; `log` gets one line saying so.

    Under a file lock, so that servers started together on one data folder collect once. Raises
    OSError when STATIC_ROOT cannot be written (the caller names the command to run instead).
    """
    import fcntl
    import os

    from django.conf import settings
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.management import call_command

    if not uncollected_static_files():
        return
    root = os.fspath(settings.STATIC_ROOT).rstrip(os.sep)
    os.makedirs(root, exist_ok=True)
    with open(root + ".lock", "w") as lock:  # beside STATIC_ROOT, not in it: whitenoise serves all it holds
        fcntl.flock(lock, fcntl.LOCK_EX)
        staticfiles_storage.hashed_files, _ = staticfiles_storage.load_manifest()  # another server may have collected
        missing = uncollected_static_files()
        if missing:
            log(f"Collecting static files into {settings.STATIC_ROOT} ({len(missing)} not collected yet, "
                f"e.g. {missing[0]}) ...")
            call_command("collectstatic", interactive=False, verbosity=0)
            staticfiles_storage.hashed_files, staticfiles_storage.manifest_hash = staticfiles_storage.load_manifest()
