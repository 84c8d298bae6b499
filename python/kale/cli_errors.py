"""How every kale command reports failure: one clear line, never a traceback."""

from __future__ import annotations

import functools
import sys

import click

from kale.exceptions import KaleError


# Modules of the train and eval extras: a missing one means the extra is not installed.
OPTIONAL = {"torch", "transformers", "accelerate", "triton", "yaml", "safetensors", "peft", "gguf", "tensorboard", "matplotlib", "tokenizers"}


def friendly_errors(command):
    """Turn kale's own errors into one clear line and Ctrl-C into exit status 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KaleError as e:
            raise click.ClickException(str(e)) from None
        except ModuleNotFoundError as e:
            if e.name and e.name.split(".")[0] in OPTIONAL:
                raise click.ClickException(
                    f"{e.name} is not installed; this command needs kale's optional dependencies: "
                    "pip install 'kale[train,eval]' (from a checkout: bash scripts/setup.sh train eval)"
                ) from None
            raise
        except KeyboardInterrupt:
            click.echo("interrupted; nothing half-written was left behind", err=True)
            sys.exit(130)

    return wrapper
