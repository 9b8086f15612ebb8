import sys

from bot.reminders.cli import main

sys.exit(main())
