"""The API's JSON renderer: DRF's JSON, written by orjson.

A bulk report answers with 500 incidents; DRF's renderer (the standard library's encoder)
took a tenth of such a request (bench/incidents.py). The output is DRF's: compact, UTF-8,
times written by DRF's encoder (UTC as `Z`, milliseconds), lazy translations, decimals and
the rest through the same encoder, U+2028/U+2029 escaped. Asked for indentation
(`Accept: application/json; indent=2`), DRF's own renderer writes it.
"""

import orjson
from rest_framework.renderers import JSONRenderer

# Times and dataclasses go to DRF's encoder so they read as they always have; dict keys
# that are not strings are written as strings, as the standard library does.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        content = orjson.dumps(data, default=self.encoder_class().default, option=_OPTIONS)
        # As DRF does: these two are valid JSON but end a line in JavaScript.
        return content.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
