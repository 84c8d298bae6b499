"""How every kale command reports failure: one clear line, never a traceback."""

from __future__ import annotations

import functools
import sys

import click

from kale.exceptions import KaleError


def friendly_errors(command):
    """Turn kale's own errors into one clear line and Ctrl-C into exit status 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KaleError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("interrupted; nothing half-written was left behind", err=True)
            sys.exit(130)

    return wrapper
