"""Interface strings the bot uses, and the template variables each may read.

`coach kb check` uses this to report a missing string, an unknown key or a
variable the bot does not provide. Keys are dotted: `<area>.<name>`.
"""

_STEP_PROGRESS = {"number", "total", "step"}

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
    "course.intro": {"steps"},
    "course.explain": _STEP_PROGRESS,
    "course.model": _STEP_PROGRESS | {"script_title", "script", "dealer", "product"},
    "course.practice": _STEP_PROGRESS | {"prompt", "attempt"},
    "course.feedback": _STEP_PROGRESS | {"score", "passed", "pass_mark", "checks", "best"},
    "course.summary": {"rows", "average", "all_passed"},
    "button.forget_confirm": set(),
    "button.keep": set(),
    # command menu descriptions (Telegram's setMyCommands)
    "command.train": set(),
    "command.lang": set(),
    "command.help": set(),
    "command.cancel": set(),
    "command.start": set(),
    "command.forget_me": set(),
    # the Telegram front end
    "telegram.private_only": set(),
    "telegram.error": set(),
    # the console front end
    "console.banner": set(),
    # every flow
    "common.welcome": {"name"},
    "common.help": set(),
    "common.resumed": set(),
    "common.has_session": set(),
    "common.no_session": set(),
    "common.no_session_hint": set(),
    "common.button_expired": set(),
    "common.use_buttons": {"buttons"},
    "common.finished_hint": {"buttons"},
    "common.empty_text": set(),
    "common.too_long": {"length", "limit"},
    "common.switched_flow": set(),
    "common.nothing_to_cancel": set(),
    "common.cancelled": set(),
    "common.unknown_command": {"command"},
    "common.lang_choose": set(),
    "common.lang_switched": set(),
    "common.not_text": set(),
    "common.edited": set(),
    "common.forget_ask": set(),
    "common.forgotten": set(),
}
