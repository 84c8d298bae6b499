"""How every kale command reports failure: one clear line, never a traceback."""

from __future__ import annotations

import functools
import sys

import click

from kale.exceptions import KaleError

# Modules of the optional extras, by the extra that installs them: a missing one means the extra is not installed.
OPTIONAL = {
    **dict.fromkeys(
        [
            "torch",
            "transformers",
            "accelerate",
            "triton",
            "yaml",
            "safetensors",
            "peft",
            "gguf",
            "tensorboard",
            "tokenizers",
            "matplotlib",
        ],
        "train,eval",
    ),
    "ray": "ray",
}


def friendly_errors(command):
    """Turn kale's own errors into one clear line and Ctrl-C into exit status 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KaleError as e:
            raise click.ClickException(str(e)) from None
        except ModuleNotFoundError as e:
            extra = OPTIONAL.get((e.name or "").split(".")[0])
            if extra:
                raise click.ClickException(
                    f"{e.name} is not installed; this needs kale's optional dependencies: "
                    f"pip install 'kale[{extra}]' (from a checkout: bash scripts/setup.sh {extra.replace(',', ' ')})"
                ) from None
            raise
        except KeyboardInterrupt:
            click.echo("interrupted; nothing half-written was left behind", err=True)
            sys.exit(130)

    return wrapper
