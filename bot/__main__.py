"""``python -m bot`` [run | console [--new-user] | reminders ...].

``run`` (the default) polls Telegram when TELEGRAM_BOT_TOKEN is set and otherwise opens the
terminal console on the embedded database with demo data; ``console`` always opens the
console, as the demo graduate (CONSOLE_USER_ID 1) or, with ``--new-user``, as a newcomer who
registers from scratch; ``reminders`` hands over to the reminder dispatcher's own command line.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from core.config import ConfigError

USAGE = "usage: python -m bot [run | console [--new-user] | reminders ...]"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "run"
    if command == "reminders":
        from bot.reminders.cli import main as reminders_main

        return reminders_main(args[1:])
    if command in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    new_user = args[1:] == ["--new-user"] and command == "console"
    if command not in ("run", "console") or (len(args) > 1 and not new_user):
        print(USAGE, file=sys.stderr)
        return 2

    from bot.app import configure_logging, run_console, run_telegram
    from bot.config import BotSettings

    try:
        settings = BotSettings()
        console = command == "console" or not settings.has_token
        if not console:
            settings.check_sms()
        configure_logging(console=console)
        if console:
            asyncio.run(run_console(settings, new_user=new_user))
        else:
            asyncio.run(run_telegram(settings))
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except ValidationError as error:
        # Name the settings and what is wrong, never the values: one of them may be the token.
        for problem in error.errors(include_input=False):
            where = ".".join(str(part) for part in problem["loc"]).upper()
            print(f"configuration error: {where}: {problem['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
