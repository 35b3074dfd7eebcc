from rest_framework.pagination import PageNumberPagination

from config.errors import ValidationFailed


class DefaultPagination(PageNumberPagination):
    """`?page=N&page_size=M`. A page or page size that is not a whole number in range is a 400
    naming the parameter, as every other query parameter (DRF would read `page=` as the first
    page and any bad `page_size` as the default, and answer something the client did not ask
    for); a page past the last stays DRF's 404."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_number(self, request, paginator):
        raw = request.query_params.get(self.page_query_param)
        if raw is None or raw in self.last_page_strings:
            return super().get_page_number(request, paginator)
        if not _whole(raw) or int(raw) < 1:
            raise ValidationFailed.on(self.page_query_param, "A whole number from 1.")
        return int(raw)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _whole(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationFailed.on(self.page_size_query_param, f"A whole number from 1 to {self.max_page_size}.")
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters


def _whole(raw: str) -> bool:
    # str.isdigit alone takes "²" and other digits int() refuses.
    return raw.isascii() and raw.isdigit()
