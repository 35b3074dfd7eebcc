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
