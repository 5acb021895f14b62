"""Files sent with a reply (a chart, an export), in the terminal: written beside the database, path printed.

`coach chat` has no chat window to show a picture in, so each attachment goes to a private folder
next to the database (`coach.db.files/`, like the history folder), under a name that never
overwrites an earlier file.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from dialogs.turn import Attachment


def files_dir(db_path: Path | str) -> Path | None:
    """The folder for a console user's files, beside the database; None for an in-memory database."""
    if str(db_path) == ":memory:":
        return None
    db = Path(db_path)
    return db.with_name(db.name + ".files")


def save_attachment(directory: Path, attachment: Attachment) -> Path:
    """Write the file (owner-only folder) under a fresh name; returns its path."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem, dot, suffix = re.sub(r"[^A-Za-z0-9._-]+", "_", attachment.filename).rpartition(".")
    stem = stem or suffix
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    for number in range(1000):
        name = f"{stem}-{stamp}{f'-{number}' if number else ''}{dot}{suffix if stem != suffix else ''}"
        path = directory / name
        try:
            with path.open("xb") as handle:  # never overwrites an earlier file
                handle.write(attachment.data)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"too many files named {attachment.filename!r} in {directory}")
