"""The `kale` command line: one module per command group, each command behind the one
error policy of kale.cli.errors (kale's own errors: one line, exit status 1)."""

from __future__ import annotations

import click

from kale.cli.eval import eval_command, report_command
from kale.cli.kg import kg
from kale.cli.link import link_command
from kale.cli.paths import paths_command
from kale.cli.quickstart import quickstart
from kale.cli.run import run_command
from kale.cli.synth import synth_command
from kale.cli.train import diagnose_command, train_command

COMMANDS = (
    kg,
    eval_command,
    report_command,
    link_command,
    paths_command,
    quickstart,
    run_command,
    synth_command,
    train_command,
    diagnose_command,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kale")
def main() -> None:
    """kale: knowledge-aware learning for language models."""


for _command in COMMANDS:
    main.add_command(_command)
