"""``make messages``: the German catalog brought up to date with the sources, compiled, and its
untranslated entries listed.

1. ``manage.py makemessages -l de`` (needs GNU gettext's xgettext/msgmerge: the person who
   updates the catalog needs them, the app, the tests and CI do not);
2. ``locale/de/LC_MESSAGES/django.mo`` compiled from the ``.po`` in pure Python (Babel), so
   the committed ``.mo`` matches what the tests compile;
3. every entry still untranslated or fuzzy, with where it is used. Exit 1 while any is left.

Translate them in ``locale/de/LC_MESSAGES/django.po`` (remove the ``#, fuzzy`` line once a
fuzzy guess is checked), then run ``make messages`` again and commit both files.
``--compile-only`` skips step 1 (no GNU gettext needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import i18n  # noqa: E402

MAKEMESSAGES_ARGS = [
    "--no-obsolete",
    "--add-location=file",
    *(f"--ignore={d}/*" for d in i18n.IGNORED),
]


def makemessages(locale: str) -> None:
    if not shutil.which("xgettext") or not shutil.which("msgmerge"):
        sys.exit(
            "makemessages needs GNU gettext (apt-get install gettext / brew install gettext); "
            "`python scripts/messages.py --compile-only` compiles without it."
        )
    env = {**os.environ, "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1")}
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "makemessages", "-l", locale, *MAKEMESSAGES_ARGS],
        cwd=i18n.ROOT,
        env=env,
        check=True,
    )


def main(argv: list[str]) -> int:
    compile_only = "--compile-only" in argv
    left = 0
    for locale in i18n.LOCALES:
        if not compile_only:
            makemessages(locale)
        i18n.catalog_path(locale, "mo").write_bytes(i18n.compile_catalog(locale))
        catalog = i18n.read_catalog(locale)
        todo = i18n.untranslated(catalog)
        total = sum(1 for m in catalog if m.id)
        print(f"{locale}: {total} messages, {len(todo)} untranslated or fuzzy")
        for m in todo:
            where = ", ".join(sorted({path for path, _line in m.locations}))
            msgid = m.id[0] if isinstance(m.id, tuple | list) else m.id
            flag = "fuzzy" if m.fuzzy else "new"
            print(f"  [{flag}] {msgid!r}  ({where})")
        left += len(todo)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
