"""Settings from the environment (names in PRODUCT.md's interface contract), checked early."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.pack import DEFAULT_DIR, LOCALES


class ConfigError(Exception):
    """A setting is wrong; the message says which and how to fix it."""


def _ids(name: str, environ) -> frozenset[int]:
    raw = environ.get(name, "")
    ids = set()
    for part in raw.replace(" ", "").split(","):
        if not part:
            continue
        if not part.lstrip("-").isdigit():
            raise ConfigError(f"{name} must be comma-separated Telegram user ids (numbers), not {part!r}")
        ids.add(int(part))
    return frozenset(ids)


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("coach.db")
    locale: str = "zh"
    knowledge_dir: Path = DEFAULT_DIR
    token: str = field(default="", repr=False)
    api_base_url: str = ""
    api_base_file_url: str = ""
    webhook_secret: str = field(default="", repr=False)
    manager_ids: frozenset[int] = frozenset()
    admin_ids: frozenset[int] = frozenset()
    retention_days: int | None = None  # COACH_RETENTION_DAYS: turns older than this are deleted

    @classmethod
    def from_env(cls, environ=None) -> Settings:
        env = os.environ if environ is None else environ
        locale = env.get("COACH_LOCALE", "zh").strip().lower() or "zh"
        if locale not in LOCALES:
            raise ConfigError(f"COACH_LOCALE must be one of {', '.join(LOCALES)}, not {locale!r}")
        secret = env.get("COACH_WEBHOOK_SECRET", "").strip()
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError("COACH_WEBHOOK_SECRET may only use A-Z, a-z, 0-9, _ and - (1 to 256 characters)")
        retention = env.get("COACH_RETENTION_DAYS", "").strip()
        if retention and (not retention.isdigit() or int(retention) < 1):
            raise ConfigError(f"COACH_RETENTION_DAYS must be a whole number of days (1 or more), not {retention!r}")
        return cls(
            retention_days=int(retention) if retention else None,
            db_path=Path(env.get("COACH_DB") or "coach.db"),
            locale=locale,
            knowledge_dir=Path(env.get("COACH_KNOWLEDGE_DIR") or DEFAULT_DIR),
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip(),
            api_base_file_url=env.get("TELEGRAM_API_BASE_FILE_URL", "").strip(),
            webhook_secret=secret,
            manager_ids=_ids("COACH_MANAGER_IDS", env),
            admin_ids=_ids("COACH_ADMIN_IDS", env),
        )

    def staff(self):
        """The configured admins and first managers, as the service takes them (Telegram user ids)."""
        from bot.service import Staff

        return Staff(frozenset(map(str, self.admin_ids)), frozenset(map(str, self.manager_ids)))
