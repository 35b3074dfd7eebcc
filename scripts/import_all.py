"""Imports every module of the product (not tests, not benchmarks) and fails on the first that
cannot be imported.

Run with the production virtual environment (requirements.txt alone): a module that imports a
package only the development requirements bring (pytest brings a dozen) passes every test and
kills the deployed process. scripts/smoke runs it.
"""

import importlib
import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("config", "coordination", "incidents", "sharing", "ui")


def module_names():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    failures = []
    count = 0
    for name in module_names():
        count += 1
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, the first does not hide the rest
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"imported {count - len(failures)} of {count} modules")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
