"""The site-file reference in docs/ is generated from the attribute tables and must not drift."""

from pathlib import Path

from optimizer.site.docs import SECTIONS, attribute_tables_markdown
from optimizer.site.schema import attribute_table

ROOT = Path(__file__).resolve().parents[1]


def test_site_file_reference_is_current():
    assert (ROOT / "docs" / "site_file.md").read_text().rstrip("\n") == attribute_tables_markdown().rstrip("\n"), (
        "regenerate with: steamopt site attributes > docs/site_file.md"
    )


def test_every_numeric_attribute_has_a_unit_and_description():
    for _, cls in SECTIONS:
        for row in attribute_table(cls):
            assert row["description"], (cls.__name__, row["attribute"])
            if row["type"].startswith("a number"):
                assert row["unit"], (cls.__name__, row["attribute"])
