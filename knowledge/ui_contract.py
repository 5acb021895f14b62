"""Interface strings the bot uses, and the template variables each may read.

`coach kb check` uses this to report a missing string, an unknown key or a
variable the bot does not provide. Keys are dotted: `<area>.<name>`.
"""

_STEP_PROGRESS = {"number", "total", "step"}
_DRILL_CARD = {"deck", "context", "text", "model_answer"}

UI_VARIABLES: dict[str, set[str]] = {
    # buttons
    "button.begin_with": {"product"},
    "button.show_model": set(),
    "button.practise": set(),
    "button.another_model": set(),
    "button.retry": set(),
    "button.next_step": set(),
    "button.finish_course": set(),
    "button.train_again": set(),
    "button.menu_train": set(),
    "button.lang_zh": set(),
    "button.lang_en": set(),
    # the five-step course
    "course.intro": {"steps", "pass_mark"},
    "course.explain": _STEP_PROGRESS,
    "course.model": _STEP_PROGRESS | {"script_title", "script", "dealer", "product"},
    "course.practice": _STEP_PROGRESS | {"prompt", "attempt"},
    "course.feedback": _STEP_PROGRESS | {"score", "passed", "pass_mark", "checks", "best"},
    "course.summary": {"rows", "average", "all_passed", "pass_mark"},
    "button.menu_roleplay": set(),
    "button.menu_drill": set(),
    "button.role_rep": set(),
    "button.role_partner": set(),
    "button.roleplay_dealer": {"name", "code"},
    "button.to_explain": set(),
    "button.to_show": set(),
    "button.next_page": set(),
    "button.your_turn": set(),
    "button.skip_show": set(),
    "button.roleplay_again": set(),
    "button.drill_start": {"count"},
    "button.drill_extra": set(),
    "button.drill_next": set(),
    "button.drill_finish": set(),
    "button.drill_again": set(),
    "button.reminder_on": set(),
    "button.reminder_off": set(),
    "button.forget_confirm": set(),
    "button.keep": set(),
    "button.menu_start": set(),
    # phone-sized screens (dialogs/paging.py)
    "button.more": {"left"},
    "button.fold_checks": set(),
    "button.fold_model": set(),
    # command menu descriptions (Telegram's setMyCommands)
    "command.train": set(),
    "command.roleplay": set(),
    "command.drill": set(),
    "command.settings": set(),
    "command.lang": set(),
    "command.help": set(),
    "command.cancel": set(),
    "command.start": set(),
    "command.forget_me": set(),
    # the Telegram front end
    "telegram.private_only": set(),
    "telegram.error": set(),
    # the PESOS role-play
    "roleplay.pick_product": {"products"},
    "roleplay.pick_dealer": {"dealers"},
    "roleplay.pick_goal": {"goals"},
    "roleplay.briefing": {"product", "dealer", "man", "goal", "objections"},
    "roleplay.explain": {"dealer", "plan"},
    "roleplay.show": {"number", "total", "step", "script"},
    "roleplay.observe": {"number", "total", "step", "dealer", "says", "objection", "goal"},
    "roleplay.supervise": {"rows", "average", "models", "added", "dealer", "reaction"},
    # the objection drill
    "drill.menu": {"due", "total", "new", "deck", "reminder", "next_due"},
    "drill.card": {"number", "count", "deck", "context", "text", "model_answer"},
    "drill.feedback": _DRILL_CARD | {"score", "passed", "pass_mark", "checks", "next_review"},
    "drill.done": {"reviewed", "average", "due_left"},
    "drill.reminder": {"due"},
    # the console front end
    "console.banner": set(),
    "console.goodbye": set(),
    "console.file_saved": {"path", "caption"},  # a chart or export sent with a reply, saved beside the database
    # every flow
    "common.welcome": {"name"},
    "common.help": {"commands"},
    "common.resumed": set(),
    "common.has_session": {"command"},
    "common.no_session": set(),
    "common.no_session_hint": set(),
    "common.button_expired": set(),
    "common.use_buttons": {"buttons"},
    "common.empty_text": set(),
    "common.too_long": {"length", "limit"},
    "common.paused_flow": {"command"},
    "common.nothing_to_cancel": set(),
    "common.cancelled": set(),
    "common.unknown_command": {"command"},
    "common.lang_choose": set(),
    "common.lang_switched": set(),
    "common.ask_role": set(),
    "common.role_set": {"role"},
    "common.settings": {"role", "locale", "reminder", "deck"},
    "common.not_text": set(),
    "common.edited": set(),
    "common.forget_ask": set(),
    "common.forgotten": set(),
    "common.forget_kept": set(),
    # the visit toolkit (/man /swot /pitch /my): a notice its flows share
    "toolkit.too_long": {"length", "limit"},
}

# The terminal's variants (bot/console/wording.py): `console.<key>` replaces `<key>` in
# `coach chat`, with the same variables.
CONSOLE_VARIANTS = (
    "common.help",
    "common.use_buttons",
    "common.button_expired",
    "common.settings",
    "button.reminder_on",
)
UI_VARIABLES |= {f"console.{key}": UI_VARIABLES[key] for key in CONSOLE_VARIANTS}
