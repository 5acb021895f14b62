"""Logging for `coach run`: one line per record, secrets redacted, httpx turned down.

httpx logs every request URL at INFO, and a Bot API URL contains the token, so
it is set to WARNING; the formatter also blanks the token and the webhook secret
wherever they would appear (messages and tracebacks alike).
"""

from __future__ import annotations

import logging


def redact(text: str, secrets: list[str]) -> str:
    """The text with every secret (and the token's secret part on its own) blanked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
            _, _, key = secret.partition(":")
            if len(key) >= 20:
                text = text.replace(key, "[redacted]")
    return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], fmt: str):
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def setup_logging(secrets: list[str], level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
