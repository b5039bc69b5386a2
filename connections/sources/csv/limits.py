"""Bounds on what an order file may cost to read, checked while streaming, so that no file
(a spreadsheet bomb, a line of 40 million commas, millions of empty rows) can hold a worker
for long or take much memory. A file over a bound is refused with a plain message.

- XLSX: before openpyxl opens the workbook, the zip's directory is read (it says how large
  each part is once uncompressed): too large in all, shared strings too large, or a part that
  expands too much (a zip bomb) refuse the file. XML is parsed by openpyxl through
  defusedxml (installed for it), which refuses DTDs and entities (billion laughs, external
  entities).
- CSV: each physical line is read with a length bound before the ``csv`` module splits it.
- Both: at most ``max_rows`` rows (blank ones count) and ``MAX_COLUMNS`` columns are read.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings

from unify.core.stored_text import gettext as _

MAX_COLUMNS = 100
MAX_LINE_CHARS = 64 * 1024
MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_SHARED_STRINGS_BYTES = 32 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200
DEFAULT_MAX_ROWS = 200_000


class FileTooCostly(Exception):
    """Raised with a user message; the reader turns it into an ``OrderFileError``."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


@dataclass(frozen=True, slots=True)
class ReadLimits:
    max_rows: int = DEFAULT_MAX_ROWS
    max_columns: int = MAX_COLUMNS
    max_line_chars: int = MAX_LINE_CHARS

    @classmethod
    def from_settings(cls) -> ReadLimits:
        return cls(max_rows=getattr(settings, "UNIFY_ORDER_FILE_MAX_ROWS", DEFAULT_MAX_ROWS))


def too_many_rows(limit: int) -> FileTooCostly:
    return FileTooCostly(
        _("The file has more than %(n)s rows. Split it into smaller files and upload each.")
        % {"n": f"{limit:,}"}
    )


def check_xlsx_archive(fileobj: IO[bytes]) -> None:
    """Refuse a workbook whose parts would be too large once uncompressed."""
    try:
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileTooCostly(
            _("This file is not a readable Excel workbook (%(detail)s).")
            % {"detail": type(exc).__name__}
        ) from None
    finally:
        fileobj.seek(0)
    total = sum(info.file_size for info in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise FileTooCostly(
            _(
                "This workbook holds %(mb)s MB of data once unpacked, more than the "
                "%(limit)s MB an order file may. Split it, or save it as CSV."
            )
            % {"mb": total // (1024 * 1024), "limit": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}
        )
    for info in infos:
        if info.filename.lower().endswith("sharedstrings.xml") and (
            info.file_size > MAX_SHARED_STRINGS_BYTES
        ):
            raise FileTooCostly(
                _(
                    "This workbook's text table is larger than %(limit)s MB. Save the sheet "
                    "as CSV and upload that instead."
                )
                % {"limit": MAX_SHARED_STRINGS_BYTES // (1024 * 1024)}
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
            raise FileTooCostly(
                _(
                    "This workbook is packed unusually tightly (a part expands %(ratio)s "
                    "times), as files built to overload a server are. Save the sheet as CSV "
                    "and upload that instead."
                )
                % {"ratio": int(info.file_size / info.compress_size)}
            )


def bounded_lines(text: IO[str], max_chars: int) -> Iterator[str]:
    """Physical lines of ``text``, refusing one longer than ``max_chars``."""
    number = 0
    while True:
        line = text.readline(max_chars + 1)
        if not line:
            return
        number += 1
        if len(line) > max_chars and not line.endswith(("\n", "\r")):
            raise FileTooCostly(
                _(
                    "Line %(line)s of the file is longer than %(n)s characters; an order file "
                    "row is much shorter. Check that this is the right file."
                )
                % {"line": number, "n": f"{max_chars:,}"}
            )
        yield line


def bounded_rows(rows: Iterator[Any], limits: ReadLimits) -> Iterator[Any]:
    """At most ``max_rows`` rows (the header and blank rows count), each cut to
    ``max_columns`` cells."""
    for index, row in enumerate(rows):
        if index > limits.max_rows:
            raise too_many_rows(limits.max_rows)
        yield row[: limits.max_columns]
