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


def test_every_relative_link_in_the_docs_resolves_inside_the_repository():
    """README.md and docs/*.md: each Markdown link to a file points at a file that exists, inside
    the repository (no design notes left outside it)."""
    import re

    bad = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            path = (doc.parent / target.split("#")[0]).resolve()
            if not path.exists() or ROOT.resolve() not in path.parents:
                bad.append(f"{doc.relative_to(ROOT)}: {target}")
    assert not bad, bad


def test_readme_starts_with_a_quick_start_and_stays_short():
    text = (ROOT / "README.md").read_text()
    head = text.splitlines()[:12]
    assert any("make run" in line for line in head) and any("make test" in line for line in head)
    assert len(text.splitlines()) <= 250
