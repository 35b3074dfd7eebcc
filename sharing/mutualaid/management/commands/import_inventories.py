import csv

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from config.errors import ValidationFailed
from sharing.mutualaid.services.inventories import inventories_import

REQUIRED = ("resource_type", "on_hand")
OPTIONAL = ("unit", "location", "lat", "lon", "external_id", "contact_name", "contact_role", "contact_phone")


def _number(value: str):
    """Coordinates as numbers where they are numbers; anything else is passed on for the
    service to refuse with its reason."""
    try:
        return float(value)
    except ValueError:
        return value


def _blank(row: dict) -> bool:
    return not any(isinstance(value, str) and value.strip() for value in row.values())


def row_data(row: dict) -> dict:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    data = {"resource_type": cell("resource_type"), "on_hand": cell("on_hand") or None, "unit": cell("unit") or None}
    lat, lon = cell("lat"), cell("lon")
    if cell("location") or lat or lon:
        data["location"] = {"name": cell("location"), "lat": _number(lat) if lat else None,
                            "lon": _number(lon) if lon else None}
    if cell("contact_name"):
        data["contacts"] = [{"name": cell("contact_name"), "role": cell("contact_role"),
                             "phone": cell("contact_phone")}]
    # A row without an external id is known by its type and place, so importing the same
    # file again updates the stock instead of recording it twice.
    data["external_id"] = cell("external_id") or f"csv:{cell('resource_type')}:{cell('location')}"[:100]
    return data


class Command(BaseCommand):
    help = (
        "Import a jurisdiction's resource inventories from a CSV file (UTF-8, a header row). Columns: "
        f"{', '.join(REQUIRED)} (required), {', '.join(OPTIONAL)}. A row is created or, when its external_id "
        "(or, without one, its type and location) is known, updated; bad rows are reported and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--jurisdiction", required=True, help="GB/T 2260 code of the jurisdiction the stock is of.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, jurisdiction, no_progress, **options):
        try:
            with open(file, encoding="utf-8-sig", newline="") as fh:
                reader = csv.DictReader(fh)
                header = [name.strip() for name in reader.fieldnames or []]
                reader.fieldnames = header
                rows = [(reader.line_num, row) for row in reader if not _blank(row)]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise CommandError(f"The header lacks {', '.join(missing)}; it has {', '.join(header) or 'nothing'}.")

        with tqdm(total=len(rows), unit="row", disable=no_progress, file=self.stderr) as bar:
            try:
                results = inventories_import(jurisdiction=jurisdiction, on_row=lambda result: bar.update(1),
                                             rows=[(line, row_data(row)) for line, row in rows])
            except ValidationFailed as exc:
                raise CommandError(exc.detail) from exc
        counts = {"created": 0, "updated": 0, "unchanged": 0, "refused": 0}
        for result in results:
            counts[result.outcome] += 1
            target = f"inventory {result.inventory}: " if result.inventory else ""
            self.stdout.write(f"line {result.line}: {result.outcome}: {target}{result.detail}")
        self.stdout.write(", ".join(f"{count} {outcome}" for outcome, count in counts.items()) + ".")
        if counts["refused"]:
            raise CommandError(f"{counts['refused']} row(s) were not imported; see above.")
