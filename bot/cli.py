"""The `coach` command: console practice, content checks, scoring from the shell, managers' reports."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from pathlib import Path

from bot.config import ConfigError, Settings
from dialogs.machines import FlowError
from knowledge.pack import LOCALES, STEP_IDS, PackError, check_pack, load_pack


def _fail(message: str) -> int:
    print(f"coach: {message}", file=sys.stderr)
    return 2


def cmd_chat(args, settings: Settings) -> int:
    """Console practice."""
    from bot.console import for_console, run_chat
    from bot.service import CoachService, Identity, Staff
    from bot.storage import Storage, StorageError
    from dialogs.engine import Engine

    pack = load_pack(settings.knowledge_dir)
    try:
        storage = Storage(args.db or settings.db_path)
    except StorageError as exc:
        return _fail(f"{exc}. Set COACH_DB or --db to a writable file.")
    staff = Staff(manager_ids=frozenset({args.user}), channel="console") if args.manager else None
    service = CoachService(storage, Engine(for_console(pack), option_lines=True), settings.locale, staff=staff)
    identity = Identity("console", args.user, args.user)
    if args.locale:
        service.set_locale(identity, args.locale)
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):
        stdin.reconfigure(errors="replace")
    try:
        run_chat(service, identity, args.db or settings.db_path, stdin)
    finally:
        storage.close()
    return 0


def cmd_run(args, settings: Settings) -> int:
    """The Telegram bot."""
    from telegram.error import InvalidToken, TelegramError

    from bot.logs import redact, setup_logging
    from bot.service import CoachService
    from bot.storage import Inbox, Storage, StorageError
    from bot.telegram.app import build_application, check_token, run
    from dialogs.engine import Engine

    check_token(settings.token)
    secrets = [settings.token, settings.webhook_secret]
    setup_logging(secrets)
    pack = load_pack(settings.knowledge_dir)
    try:
        storage = Storage(args.db or settings.db_path)
        inbox = Inbox.beside(storage)
    except StorageError as exc:
        return _fail(f"{exc}. Set COACH_DB (or --db) to a writable file.")
    service = CoachService(storage, Engine(pack), settings.locale, inbox=inbox, staff=settings.staff())
    if settings.retention_days:  # COACH_RETENTION_DAYS: old turns go at start-up, then daily (the job queue)
        service.prune_turns(settings.retention_days)
    app = build_application(settings, service, inbox=inbox)
    logging.getLogger("coach").info(
        "Channel Coach starting: database %s, content %s, default language %s",
        storage.path, pack.root, settings.locale,
    )  # fmt: skip
    try:
        run(app, webhook_url=args.webhook_url, port=args.port, secret=settings.webhook_secret, listen=args.listen)
    except InvalidToken:
        return _fail("Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): copy the token again from @BotFather")
    except TelegramError as exc:  # unreachable at start, or refused a request; the text may hold a URL
        return _fail(f"Telegram could not be reached or refused the start: {redact(str(exc), secrets)}")
    except Exception:  # a bug: logged with its traceback, through the formatter that blanks the token
        logging.getLogger("coach").exception("coach run stopped by an unexpected error")
        return 1
    finally:
        inbox.close()
        storage.close()
    return 0


def cmd_kb_check(args, settings: Settings) -> int:
    """Validate a content pack."""
    root = Path(args.dir) if args.dir else settings.knowledge_dir
    if not root.is_dir():  # one clear line, not the path joined to itself
        print(f"{root}: content pack folder not found (give the folder that holds ui.yaml and steps/)")
        print(f"1 problem(s) in {root}", file=sys.stderr)
        return 1
    problems = check_pack(root)
    for problem in problems:
        print(f"{root}/{problem}")
    errors = [p for p in problems if not p.warning]
    if errors:
        print(f"{len(errors)} problem(s) in {root}", file=sys.stderr)
        return 1
    pack = load_pack(root)
    flow_problems = check_all_flows(pack)
    for problem in flow_problems:
        print(problem)
    if flow_problems:
        print(f"{len(flow_problems)} problem(s) in the flows", file=sys.stderr)
        return 1
    warnings = f", {len(problems)} warning(s)" if problems else ""
    print(
        f"{root}: ok — {len(pack.steps)} steps, {len(pack.products)} products, "
        f"{len(pack.dealers)} dealers, {len(pack.ui)} interface strings{warnings}"
    )
    return 0


def check_all_flows(pack) -> list:
    """Every problem with the flows (shipped, and those in COACH_FLOW_DIRS) over this pack."""
    from dialogs.engine import Engine, FlowError

    try:
        Engine(pack)
    except FlowError as exc:
        return exc.problems
    return []


def cmd_score(args, settings: Settings) -> int:
    """Score one answer and print JSON."""
    from dialogs.scoring import Scorer

    text = " ".join(args.text)
    if text == "-":
        text = sys.stdin.read()
    result = Scorer(load_pack(settings.knowledge_dir)).score(args.step, text, args.locale or settings.locale)
    print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    return 0


def cmd_review(args, settings: Settings) -> int:
    """The session log in a browser (Datasette), read-only."""
    import os

    from bot.reports import ReportError
    from bot.review import PASSWORD_ENV, ReviewError, serve

    try:
        serve(args.db or settings.db_path, args.host, args.port, os.environ.get(PASSWORD_ENV, ""))
    except (ReviewError, ReportError) as exc:
        return _fail(str(exc))
    return 0


def cmd_report(args, settings: Settings) -> int:
    """A table per team: sessions, last activity, average per step, weakest step (or, with --calibration,
    how often managers agreed with each check of the scorer)."""
    from rich.console import Console

    from bot.reports import ReportError, read_only

    console = Console(width=args.width)
    try:
        with read_only(args.db or settings.db_path) as conn:
            tables = _calibration_tables(conn) if args.calibration else _team_tables(conn)
    except ReportError as exc:
        return _fail(str(exc))
    for table in tables:
        console.print(table)
    return 0


def _team_tables(conn) -> list:
    """One table per team (by its manager), then the learners in no team."""
    from rich.table import Table

    from bot.reports import learner_summaries, team_names

    summaries = learner_summaries(conn)
    teams = team_names(conn, [s.user_id for s in summaries])
    groups: dict[str, list] = {}
    for summary in summaries:
        groups.setdefault(teams.get(summary.user_id, ""), []).append(summary)
    tables = []
    for team in sorted(groups, key=lambda name: (name == "", name)):
        members = groups[team]
        title = f"Team {team} ({len(members)})" if team else f"Learners in no team ({len(members)})"
        if len(groups) == 1 and not team:
            title = f"Learners ({len(members)})"
        table = Table(title=title)
        for column in ("learner", "id", "sessions", "last activity", *STEP_IDS, "weakest step"):
            table.add_column(column, justify="right" if column in STEP_IDS or column in ("id", "sessions") else "left")
        for s in members:
            averages = [f"{s.step_averages[step]:.0f}" if step in s.step_averages else "-" for step in STEP_IDS]
            last = (s.last_activity or "-")[:16].replace("T", " ")
            table.add_row(s.name, str(s.user_id), str(s.sessions), last, *averages, s.weakest_step or "-")
        tables.append(table)
    return tables


def _calibration_tables(conn) -> list:
    """Per check: overridden answers that had it, how many overrides left it undisputed, the agreement rate."""
    from rich.table import Table

    from bot.reports import calibration

    checks, pairs = calibration(conn)
    table = Table(title=f"Calibration: managers' overrides of {len(pairs)} answer(s), per check")
    for column in ("check", "overrides", "agreed", "agreement"):
        table.add_column(column, justify="left" if column == "check" else "right")
    for row in checks:
        table.add_row(row.check_id, str(row.overrides), str(row.agreed), f"{row.rate:.0%}")
    scores = Table(title="Scores: machine vs manager")
    for column in ("overrides", "mean machine", "mean manager", "mean difference"):
        scores.add_column(column, justify="right")
    if pairs:
        machine = sum(m for m, _ in pairs) / len(pairs)
        manager = sum(o for _, o in pairs) / len(pairs)
        gap = sum(abs(m - o) for m, o in pairs) / len(pairs)
        scores.add_row(str(len(pairs)), f"{machine:.1f}", f"{manager:.1f}", f"{gap:.1f}")
    return [table, scores]


def cmd_export(args, settings: Settings) -> int:
    """The session log as CSV or XLSX."""
    import time
    from datetime import date

    from rich.progress import Progress

    from bot.export import export_log
    from bot.reports import ReportError

    since = None
    if args.since:
        try:
            since = date.fromisoformat(args.since).isoformat()
        except ValueError:
            return _fail(f"--since must be a date like 2026-12-01, not {args.since!r}")
    db = args.db or settings.db_path
    started = time.perf_counter()
    try:
        members = _team_members(db, args.team) if args.team else None
        if members is None and args.team:
            return _fail(f"no team {args.team!r}: give a team id, or its manager's name or Telegram id")
        with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("exporting turns", total=None)
            rows = export_log(db, args.out, args.format, since, user_ids=members,
                              progress=lambda done, total: bar.update(task, completed=done, total=total))  # fmt: skip
    except ReportError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {args.out!r}: {exc.strerror or exc}")
    print(f"coach: {rows} turns written to {args.out} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _team_members(db, team: str) -> list[int] | None:
    """The user ids of a team (by id or its manager's name or Telegram id), its manager included; None if unknown."""
    from bot.reports import read_only, team_members, team_of

    with read_only(db) as conn:
        team_id = team_of(conn, team)
        if team_id is None:
            return None
        manager = conn.execute("SELECT manager_id FROM teams WHERE id = ?", [team_id]).fetchone()[0]
        return [manager, *team_members(conn, team_id)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description="Channel Coach (渠道教练): sales coaching bot.")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="practise in the terminal (no token needed)")
    chat.add_argument("--user", default=getpass.getuser() or "me", help="your name in the log (default: login name)")
    chat.add_argument("--locale", choices=LOCALES, help="language: zh or en")
    chat.add_argument("--db", help="SQLite file (default: COACH_DB or coach.db)")
    chat.add_argument("--manager", action="store_true", help="practise as a manager (/team /rep /export /invite)")
    chat.set_defaults(func=cmd_chat)

    run = sub.add_parser("run", help="run the Telegram bot (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument("--webhook-url", help="public HTTPS URL for a webhook (default: long polling)")
    run.add_argument("--port", type=int, default=8443, help="webhook port to listen on (default 8443)")
    run.add_argument("--listen", default="0.0.0.0", help="webhook address to listen on (default 0.0.0.0)")
    run.add_argument("--db", help="SQLite file (default: COACH_DB or coach.db)")
    run.set_defaults(func=cmd_run)

    kb = sub.add_parser("kb", help="content pack tools")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    check = kb_sub.add_parser("check", help="validate a content pack")
    check.add_argument("dir", nargs="?", help="pack folder (default: COACH_KNOWLEDGE_DIR or the shipped pack)")
    check.set_defaults(func=cmd_kb_check)

    score = sub.add_parser("score", help="score one answer for a step, print JSON")
    score.add_argument("--step", required=True, choices=STEP_IDS)
    score.add_argument("--locale", choices=LOCALES)
    score.add_argument("text", nargs="+", help="the answer ('-' reads it from stdin)")
    score.set_defaults(func=cmd_score)

    review = sub.add_parser("review", help="browse the session log in a web browser (Datasette, read-only)")
    review.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any other "
                        "needs COACH_REVIEW_PASSWORD)")  # fmt: skip
    review.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
    review.add_argument("--db", help="SQLite file (default: COACH_DB or coach.db)")
    review.set_defaults(func=cmd_review)

    report = sub.add_parser("report", help="a table of every learner's practice in the terminal")
    report.add_argument("--db", help="SQLite file (default: COACH_DB or coach.db)")
    report.add_argument("--width", type=int, help="table width in characters (default: the terminal's)")
    report.add_argument("--calibration", action="store_true", help="per check, how often managers agreed with it")
    report.set_defaults(func=cmd_report)

    export = sub.add_parser("export", help="write the session log to a CSV or XLSX file")
    export.add_argument("--format", required=True, choices=("csv", "xlsx"))
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument("--since", help="only turns from this date on (YYYY-MM-DD, UTC)")
    export.add_argument("--team", help="only this team: its id, or its manager's name or Telegram id")
    export.add_argument("--db", help="SQLite file (default: COACH_DB or coach.db)")
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    from dialogs.scoring import ScorerUnavailable

    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.func(args, settings)
    except (ConfigError, ScorerUnavailable) as exc:
        return _fail(str(exc))
    except PackError as exc:
        print(f"coach: the content pack has {len(exc.problems)} problem(s); run `coach kb check`:", file=sys.stderr)
        for problem in exc.problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except FlowError as exc:
        print(f"coach: the flows have {len(exc.problems)} problem(s); run `coach kb check`:", file=sys.stderr)
        for problem in exc.problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
