"""What a manager reads on the command line: `coach report` and `coach export`, over a real log."""

from __future__ import annotations

import csv
import sqlite3
import threading

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.export import export_log
from bot.reports import LOG_COLUMNS, find_learner, learner_summaries, read_only, step_history, team_step_averages
from bot.storage import Storage
from knowledge.pack import STEP_IDS
from tests.manager_log import OTHER, STRONG, WEAK_STEP, fill_log


@pytest.fixture(scope="module")
def log(tmp_path_factory, pack):
    path = tmp_path_factory.mktemp("log") / "coach.db"
    fill_log(path, pack).close()
    return path


def stored_turns(path) -> list[dict]:
    store = Storage(path)
    try:
        return store.turns()
    finally:
        store.close()


def test_report_lists_each_rep_with_their_weakest_step(log, capsys):
    assert main(["report", "--db", str(log), "--width", "220"]) == 0
    lines = capsys.readouterr().out.splitlines()
    strong = next(line for line in lines if STRONG.name in line)
    other = next(line for line in lines if OTHER.name in line)
    assert strong.rstrip(" │").endswith(WEAK_STEP)
    assert not other.rstrip(" │").endswith(WEAK_STEP)  # the other rep answered that step well


def test_summaries_count_sessions_and_average_only_practised_steps(log):
    with read_only(log) as conn:
        summaries = {s.name: s for s in learner_summaries(conn)}
        team = team_step_averages(conn)
        history = step_history(conn, summaries[STRONG.name].user_id)
    strong = summaries[STRONG.name]
    assert strong.sessions == 2  # the course and the drill
    assert list(strong.step_averages) == list(STEP_IDS)
    assert strong.step_averages[WEAK_STEP] < 60 <= min(v for k, v in strong.step_averages.items() if k != WEAK_STEP)
    assert strong.weakest_step == WEAK_STEP
    assert team[WEAK_STEP] == pytest.approx(
        (strong.step_averages[WEAK_STEP] + summaries[OTHER.name].step_averages[WEAK_STEP]) / 2
    )
    assert [step for _, step, _ in history] == list(STEP_IDS)  # drill cards are not steps


def test_csv_export_has_every_turn_with_its_rep(log, tmp_path):
    out = tmp_path / "log.csv"
    assert main(["export", "--format", "csv", "--out", str(out), "--db", str(log)]) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    turns = stored_turns(log)
    assert [int(r["turn_id"]) for r in rows] == [t["id"] for t in turns]
    assert {r["name"] for r in rows} == {STRONG.name, OTHER.name}
    scored = [r for r in rows if r["score"]]
    assert len(scored) == 11  # five course answers for each rep and one drill card
    assert all("<b>" not in r["text"] for r in rows)  # the bot's HTML is exported as plain text


def test_xlsx_export_opens_with_the_same_rows(log, tmp_path):
    out = tmp_path / "log.xlsx"
    assert main(["export", "--format", "xlsx", "--out", str(out), "--db", str(log)]) == 0
    sheet = load_workbook(out, read_only=True)["turns"]
    header, *rows = list(sheet.values)
    assert header == LOG_COLUMNS
    turns = stored_turns(log)
    assert [r[0] for r in rows] == [t["id"] for t in turns]
    first_answer = next(r for r in rows if r[LOG_COLUMNS.index("direction")] == "in" and r[2] == 1)
    assert first_answer[LOG_COLUMNS.index("name")] == STRONG.name


def test_since_keeps_only_later_turns(log, tmp_path):
    out = tmp_path / "later.csv"
    assert main(["export", "--format", "csv", "--out", str(out), "--db", str(log), "--since", "2999-01-01"]) == 0
    assert out.read_text(encoding="utf-8-sig").strip().splitlines() == [",".join(LOG_COLUMNS)]


def test_a_learner_answer_that_looks_like_a_formula_stays_text(tmp_path):
    store = Storage(tmp_path / "coach.db")
    user = store.ensure_user("telegram", "9", "Mallory", "zh", "zh")
    store.add_turn(user_id=user.id, session_id=None, direction="in", text='=HYPERLINK("http://x","点我")')
    store.close()
    assert export_log(tmp_path / "coach.db", tmp_path / "f.xlsx", "xlsx") == 1
    cell = load_workbook(tmp_path / "f.xlsx")["turns"]["I2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    export_log(tmp_path / "coach.db", tmp_path / "f.csv", "csv")
    assert "'=HYPERLINK" in (tmp_path / "f.csv").read_text(encoding="utf-8-sig")


def test_bad_arguments_and_a_missing_database_get_one_clear_line(tmp_path, capsys):
    assert main(["export", "--format", "csv", "--out", str(tmp_path / "x.csv"), "--db", str(tmp_path / "no.db")]) == 2
    assert "no database at" in capsys.readouterr().err
    assert main(["report", "--db", str(tmp_path / "no.db")]) == 2
    assert "no database at" in capsys.readouterr().err
    assert main(["export", "--format", "csv", "--out", "x.csv", "--since", "last week"]) == 2
    assert "--since must be a date" in capsys.readouterr().err
    assert not (tmp_path / "no.db").exists()  # reading never creates a database


def test_export_runs_while_the_bot_keeps_writing_turns(tmp_path, pack):
    """A writer appends turns through Storage (its own connection) for the whole export; neither fails."""
    log = tmp_path / "busy.db"
    writer_store = fill_log(log, pack)
    user_id = writer_store.find_user("telegram", STRONG.external_id).id
    before = len(writer_store.turns())
    first_write, export_done = threading.Event(), threading.Event()
    written, errors = [], []

    def keep_writing():
        try:
            while not export_done.is_set() or len(written) < 50:
                with writer_store.transaction():
                    writer_store.add_turn(user_id=user_id, session_id=None, direction="in", text=f"写入 {len(written)}")
                written.append(1)
                first_write.set()
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
            first_write.set()

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        assert first_write.wait(10)
        progress = []
        rows = export_log(
            log, tmp_path / "during.xlsx", "xlsx", progress=lambda done, total: progress.append((done, total))
        )
    finally:
        export_done.set()
        thread.join(30)
    assert errors == []
    assert rows >= before + 1 and progress[-1] == (rows, rows)  # one consistent snapshot: the count matches
    assert sum(1 for _ in load_workbook(tmp_path / "during.xlsx", read_only=True)["turns"].iter_rows()) == rows + 1
    assert len(writer_store.turns()) == before + len(written)  # every write landed
    writer_store.close()


def test_a_learner_is_found_by_name_id_or_telegram_id_and_the_reader_cannot_write(log):
    with read_only(log) as conn:
        by_name = find_learner(conn, STRONG.name)
        assert by_name is not None
        assert find_learner(conn, STRONG.external_id) == by_name == find_learner(conn, str(by_name))
        assert find_learner(conn, "nobody") is None
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM turns")
