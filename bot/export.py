"""Write the session log to a CSV or XLSX file a manager opens in a spreadsheet.

Rows come from `bot/reports.py` (read-only, streamed), so a large log is never held
in memory and the bot can keep writing while the export runs. Outgoing messages are
Telegram HTML; the export keeps their plain text. Cells that a spreadsheet would run
as a formula (text starting with `=`, `+`, `-`, `@`) are written as text, never as a
formula: a learner's answer must not become code on a manager's machine.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from bot.reports import LOG_COLUMNS, count_log, log_rows, read_only

FORMATS = ("csv", "xlsx")
TAG = re.compile(r"<[^>]+>")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Progress = Callable[[int, int], None]  # (rows written, rows in total)


def export_log(db_path: str | Path, out, fmt: str, since: str | None = None,
               progress: Progress | None = None, user_ids: Iterable[int] | None = None) -> int:  # fmt: skip
    """Write every turn since `since` (an ISO date or time; only those of `user_ids` when given) to `out`,
    a path or a binary file object; returns the number of rows."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    with read_only(db_path) as conn:
        conn.execute("BEGIN")  # one snapshot: the count and the rows agree while the bot keeps writing
        total = count_log(conn, since, user_ids)
        rows = (_readable(row) for row in log_rows(conn, since, user_ids))
        writer = _write_csv if fmt == "csv" else _write_xlsx
        return writer(out, _counted(rows, total, progress))


def _readable(row: tuple) -> tuple:
    """The row with the message as plain text."""
    index = LOG_COLUMNS.index("text")
    text = html.unescape(TAG.sub("", row[index] or ""))
    return (*row[:index], text, *row[index + 1 :])


def _counted(rows: Iterable[tuple], total: int, progress: Progress | None) -> Iterable[tuple]:
    for written, row in enumerate(rows, start=1):
        yield row
        if progress and (written % 200 == 0 or written == total):
            progress(written, total)


def _write_csv(out, rows: Iterable[tuple]) -> int:
    count = 0
    # utf-8-sig: Excel opens a CSV with a byte-order mark as UTF-8, so Chinese text is not garbled.
    with _text_handle(out) as handle:
        writer = csv.writer(handle)
        writer.writerow(LOG_COLUMNS)
        for row in rows:
            writer.writerow([_csv_safe(value) for value in row])
            count += 1
    return count


@contextmanager
def _text_handle(out) -> Iterator[io.TextIOBase]:
    """A UTF-8 (with byte-order mark) text handle on a path, or on a binary file object left open."""
    if isinstance(out, (str, Path)):
        with Path(out).open("w", newline="", encoding="utf-8-sig") as handle:
            yield handle
        return
    handle = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        yield handle
    finally:
        handle.flush()
        handle.detach()


def _csv_safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _write_xlsx(out: Path, rows: Iterable[tuple]) -> int:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("turns")
    sheet.append(LOG_COLUMNS)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
    book.save(out)
    return count


def _xlsx_cell(sheet, value):
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # openpyxl would store a string starting with "=" as a formula
    return cell
