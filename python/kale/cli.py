"""The `kale` command line."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kale")
def main() -> None:
    """kale: knowledge-aware learning for language models."""


from kale.cli_errors import friendly_errors  # noqa: E402
from kale.eval.cli import eval_command, report_command  # noqa: E402
from kale.kg_cli import kg  # noqa: E402  (registered after main exists)
from kale.link_cli import link_command  # noqa: E402
from kale.paths_cli import paths_command  # noqa: E402
from kale.quickstart import quickstart  # noqa: E402
from kale.run import run_command  # noqa: E402
from kale.synth.cli import synth_command  # noqa: E402
from kale.train.cli import diagnose_command, train_command  # noqa: E402

# kale train handles its own errors; missing optional modules still get one clear line.
for _command in (train_command, diagnose_command):
    _command.callback = friendly_errors(_command.callback)

main.add_command(kg)
main.add_command(eval_command)
main.add_command(report_command)
main.add_command(link_command)
main.add_command(paths_command)
main.add_command(quickstart)
main.add_command(run_command)
main.add_command(synth_command)
main.add_command(train_command)
main.add_command(diagnose_command)
