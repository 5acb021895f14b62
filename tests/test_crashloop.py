"""A short crash loop (scripts/crashloop.py): `coach run` SIGKILLed while users practise, then the audit.

Five users, three kills, a fixed seed for the users' choices and the kill times;
bounded by the script's own timeouts.
"""

from __future__ import annotations

from scripts.crashloop import crashloop


def test_kill_9_three_times_loses_nothing_and_does_nothing_twice(tmp_path):
    audit = crashloop(tmp_path, users=5, kills=3, actions=12, seed=11, min_up=1.5, max_up=3.0)
    assert audit.kills == 3 and audit.updates == 5 * 12
    assert audit.never_processed == 0, audit.details
    assert audit.processed_twice == 0
    assert audit.lost_replies == 0
    assert audit.most_duplicates_in_one_chat_per_kill <= 1
    assert audit.presses_never_acknowledged == 0
    assert audit.unexpected_replies == 0  # no error message was ever sent
    assert audit.invalid_sessions == [] and audit.integrity == "ok"
    assert audit.committed_parts >= audit.updates  # every update was answered (some with several messages)
