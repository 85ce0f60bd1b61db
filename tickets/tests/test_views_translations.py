from __future__ import annotations

import ast
import gettext
from pathlib import Path

from django.conf import settings

CATALOG = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES"


def po_entries(path: Path) -> dict[tuple[str, str], str]:
    """(context, msgid) → msgstr of a .po file (singular entries: all our catalog uses)."""
    entries: dict[tuple[str, str], str] = {}
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        keyword, _, rest = line.partition(" ")
        if keyword in {"msgctxt", "msgid", "msgstr"}:
            current = fields.setdefault(keyword, [])
            current.append(ast.literal_eval(rest))
        elif line.startswith('"') and current is not None:
            current.append(ast.literal_eval(line))
        elif not line.strip() and fields:
            key = ("".join(fields.get("msgctxt", [])), "".join(fields.get("msgid", [])))
            entries[key] = "".join(fields.get("msgstr", []))
            fields, current = {}, None
    return entries


def test_compiled_catalog_matches_its_source() -> None:
    entries = po_entries(CATALOG / "django.po")
    with (CATALOG / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    assert len(entries) > 100
    assert entries[("", "Unassigned")] == "Non assegnati"
    assert entries[("inbox view", "Solved")] != entries[("", "Solved")]
    stale = {
        key: text
        for key, text in entries.items()
        if key[1] and text and (catalog.pgettext(*key) if key[0] else catalog.gettext(key[1])) != text
    }
    assert stale == {}, "run: msgfmt -o locale/it/LC_MESSAGES/django.mo locale/it/LC_MESSAGES/django.po"
