"""The terminal front end (`coach chat`): chat.py runs it, terminal.py reads and prints,
markup.py and wrap.py turn Telegram HTML into wrapped, styled lines, wording.py swaps in
the terminal's wording."""

from bot.console.chat import ConsoleChat, run_chat
from bot.console.terminal import format_reply
from bot.console.wording import for_console

__all__ = ["ConsoleChat", "for_console", "format_reply", "run_chat"]
