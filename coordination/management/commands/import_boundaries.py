import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from coordination.services import boundaries_import


class Command(BaseCommand):
    help = (
        "Import jurisdiction boundaries from a GeoJSON FeatureCollection whose features carry a "
        "GB/T 2260 code in properties.code (or properties.adcode). Bad features are reported and skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, no_progress, **options):
        try:
            with open(file, encoding="utf-8") as fh:
                document = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            raise CommandError("Expected a GeoJSON FeatureCollection.")
        features = document.get("features") or []
        with tqdm(total=len(features), unit="feature", disable=no_progress, file=self.stderr) as bar:
            report = boundaries_import(features=features, on_progress=lambda: bar.update(1))
        self.stdout.write(f"Imported {len(report.imported)} boundaries; skipped {len(report.skipped)}.")
        for index, reason in report.skipped:
            self.stdout.write(f"  feature {index}: skipped: {reason}")
        if report.skipped:
            raise CommandError(f"{len(report.skipped)} feature(s) were not imported; see above.")
