"""The ``fleetwatch`` command: one entry point, subcommands loaded lazily.

Each subcommand lives beside the code it drives (``agent.cli``,
``collector.rules.cli`` ...); this table maps names to ``module:attribute``
so ``fleetwatch --help`` stays fast and an agent host never imports the
web stack.
"""

from __future__ import annotations

import importlib

import click

COMMANDS: dict[str, str] = {
    "agent": "agent.cli:agent",
    "poll": "agent.cli:poll",
    "discover": "agent.discover_cli:discover",
    "collector": "collector.service_cli:collector",
    "devices": "collector.query_cli:devices",
    "latest": "collector.query_cli:latest",
    "agents": "collector.query_cli:agents",
    "rules": "collector.rules.cli:rules",
    "incidents": "collector.incidents.cli:incidents",
    "maintenance": "collector.incidents.cli:maintenance",
    "audit": "collector.incidents.cli:audit",
    "forecast": "collector.forecast.cli:forecast",
    "stock": "collector.stock.cli:stock",
    "reorder": "collector.stock.cli:reorder",
    "report": "collector.reports.cli:report",
    "tokens": "collector.web.cli:tokens",
    "keys": "collector.keys_cli:keys",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                return None  # not built yet in this checkout
            raise
        return getattr(module, attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fleetwatch")
def main() -> None:
    """fleetwatch: monitor printers and IT devices, open maintenance incidents."""


if __name__ == "__main__":
    main()
