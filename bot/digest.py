"""The weekly digest for managers who opted in (/team digest on): their team's week in one message.

Built from the same reads as /team (bot/teams.py, so a manager only ever gets their own team)
and the ui string `team.digest` of flows/team.yaml. The Telegram job queue sends it
(bot/telegram/manager_jobs.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.service import CoachService
from bot.teams import CoachReader
from knowledge.pack import localize


def weekly_digests(service: CoachService, channel: str, now: datetime | None = None) -> list[tuple[str, str]]:
    """(external id, message) for every opted-in manager or admin of `channel`."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=7)).isoformat(timespec="milliseconds")
    managers = service.digest_managers(channel)
    digests = []
    for row in managers:
        members = CoachReader(service.storage, row.id).team()
        pack = service.engine.pack
        rows = [
            {
                "name": m.name,
                "active": bool(m.last_activity and m.last_activity >= since),
                "weakest": localize(pack.step(m.weakest_step).title, row.locale) if m.weakest_step else "",
            }
            for m in members
        ]
        text = service.engine.ui(row.locale)("team.digest", members=rows, active=sum(r["active"] for r in rows))
        digests.append((row.external_id, str(text)))
    return digests
