"""The `coach` command: console practice, content checks, scoring from the shell."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from pathlib import Path

from bot.config import ConfigError, Settings
from knowledge.pack import LOCALES, STEP_IDS, PackError, check_pack, load_pack


def _fail(message: str) -> int:
    print(f"coach: {message}", file=sys.stderr)
    return 2


def cmd_chat(args, settings: Settings) -> int:
    """Console practice."""
    from bot.console import ConsoleChat
    from bot.service import CoachService, Identity
    from bot.storage import Storage, StorageError
    from dialogs.engine import Engine

    pack = load_pack(settings.knowledge_dir)
    try:
        storage = Storage(args.db or settings.db_path)
    except StorageError as exc:
        return _fail(f"{exc}. Set COACH_DB or --db to a writable file.")
    service = CoachService(storage, Engine(pack), settings.locale)
    identity = Identity("console", args.user, args.user)
    if args.locale:
        service.set_locale(identity, args.locale)
    stdin = sys.stdin
    if hasattr(stdin, "reconfigure"):
        stdin.reconfigure(errors="replace")
    try:
        ConsoleChat(service, identity).run(stdin, interactive=stdin.isatty())
    except KeyboardInterrupt:
        print()
    finally:
        storage.close()
    return 0


def cmd_run(args, settings: Settings) -> int:
    """The Telegram bot."""
    from bot.logs import setup_logging
    from bot.service import CoachService
    from bot.storage import Storage, StorageError
    from bot.telegram.app import build_application, check_token, run
    from dialogs.engine import Engine

    check_token(settings.token)
    setup_logging([settings.token, settings.webhook_secret])
    pack = load_pack(settings.knowledge_dir)
    try:
        storage = Storage(args.db or settings.db_path)
    except StorageError as exc:
        return _fail(f"{exc}. Set COACH_DB (or --db) to a writable file.")
    app = build_application(settings, CoachService(storage, Engine(pack), settings.locale))
    logging.getLogger("coach").info(
        "Channel Coach starting: database %s, content %s, default language %s",
        storage.path, pack.root, settings.locale,
    )  # fmt: skip
    try:
        run(app, webhook_url=args.webhook_url, port=args.port, secret=settings.webhook_secret, listen=args.listen)
    finally:
        storage.close()
    return 0


def cmd_kb_check(args, settings: Settings) -> int:
    """Validate a content pack."""
    root = Path(args.dir) if args.dir else settings.knowledge_dir
    problems = check_pack(root)
    for problem in problems:
        print(f"{root}/{problem}")
    if problems:
        print(f"{len(problems)} problem(s) in {root}", file=sys.stderr)
        return 1
    pack = load_pack(root)
    print(
        f"{root}: ok — {len(pack.steps)} steps, {len(pack.products)} products, "
        f"{len(pack.dealers)} dealers, {len(pack.ui)} interface strings"
    )
    return 0


def cmd_score(args, settings: Settings) -> int:
    """Score one answer and print JSON."""
    from dialogs.scoring import Scorer

    text = " ".join(args.text)
    if text == "-":
        text = sys.stdin.read()
    result = Scorer(load_pack(settings.knowledge_dir)).score(args.step, text, args.locale or settings.locale)
    print(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description="Channel Coach (渠道教练): sales coaching bot.")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="practise in the terminal (no token needed)")
    chat.add_argument("--user", default=getpass.getuser() or "me", help="your name in the log (default: login name)")
    chat.add_argument("--locale", choices=LOCALES, help="language: zh or en")
    chat.add_argument("--db", help="SQLite file (default: COACH_DB or coach.db)")
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


if __name__ == "__main__":
    sys.exit(main())
