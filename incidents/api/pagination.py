"""Keyset ("cursor") pagination in the sync order (updated_at, id).

A page is one indexed range scan whatever the page number, and it is stable while incidents
change: an incident changed during a sync moves behind the cursor and comes again later, so a
city system paging with `updated_since` and `next` misses nothing and is never shifted by rows
inserted ahead of it. No count query.
"""

import base64
import binascii
from datetime import datetime

from django.db.models import Q
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from config.errors import ValidationFailed


class SyncCursorPagination(BasePagination):
    page_size = 50
    max_page_size = 500
    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self._page_size(request)
        position = self._position(request)
        if position is not None:
            updated_at, pk = position
            queryset = queryset.filter(Q(updated_at__gt=updated_at) | Q(updated_at=updated_at, id__gt=pk))
        rows = list(queryset[: size + 1])
        self.next_cursor = self._encode(rows[size - 1]) if len(rows) > size else None
        return rows[:size]

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "results": data})

    def get_next_link(self):
        if self.next_cursor is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.cursor_query_param, self.next_cursor)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {"next": {"type": "string", "format": "uri", "nullable": True}, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "in": "query", "required": False, "schema": {"type": "string"},
             "description": "Where the page starts (from `next`)."},
            {"name": self.page_size_query_param, "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]

    def _page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationFailed.on(self.page_size_query_param, f"A whole number from 1 to {self.max_page_size}.")
        return int(raw)

    def _position(self, request) -> tuple[datetime, int] | None:
        raw = request.query_params.get(self.cursor_query_param)
        if not raw:
            return None
        try:
            updated_at, _, pk = base64.urlsafe_b64decode(raw.encode("ascii")).decode().partition("|")
            position = datetime.fromisoformat(updated_at), int(pk)
        except (ValueError, UnicodeError, binascii.Error):
            raise ValidationFailed.on(self.cursor_query_param, "Not a cursor this API gave out.") from None
        if position[0].tzinfo is None:
            raise ValidationFailed.on(self.cursor_query_param, "Not a cursor this API gave out.")
        return position

    @staticmethod
    def _encode(row) -> str:
        return base64.urlsafe_b64encode(f"{row.updated_at.isoformat()}|{row.pk}".encode()).decode("ascii")
