#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# Commands that neither serve requests nor sign anything: with debug off and no secret key set
# (a fresh clone, a build step), they run with a throwaway key instead of refusing to start. The
# server (crm.wsgi, runserver), the worker and `check --deploy` still require the real one.
KEYLESS_COMMANDS = {
    "check",
    "collectstatic",
    "compilemessages",
    "help",
    "makemessages",
    "makemigrations",
    "migrate",
    "showmigrations",
    "sqlmigrate",
}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    keyless = len(sys.argv) > 1 and sys.argv[1] in KEYLESS_COMMANDS and "--deploy" not in sys.argv
    if keyless and not os.environ.get("DJANGO_SECRET_KEY"):
        from django.core.management.utils import get_random_secret_key

        os.environ["DJANGO_SECRET_KEY"] = get_random_secret_key()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
