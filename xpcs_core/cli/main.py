"""``xpcs`` entry point: a click group whose subcommands are imported on demand.

Exit codes: 0 ok, 1 the job failed, 2 bad usage or bad input (one line naming the
file and the problem; a traceback only with ``--debug``).
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path
from typing import Any

import click

from xpcs_core import __version__, config
from xpcs_core.errors import XpcsError, XpcsInputError
from xpcs_core.io.atomic import install_signal_handlers

# command name -> "module:attribute"; modules are imported only when needed
COMMANDS: dict[str, str] = {
    "average": "xpcs_core.cli.average:average",
    "batch": "xpcs_core.cli.batch:batch",
    "backends": "xpcs_core.cli.backends:backends",
    "bench": "xpcs_core.cli.bench:bench",
    "correlate": "xpcs_core.cli.correlate:correlate",
    "demo": "xpcs_core.cli.demo:demo",
    "fit": "xpcs_core.cli.fit:fit",
    "gui": "xpcs_core.cli.gui:gui",
    "info": "xpcs_core.cli.info:info",
    "qmap": "xpcs_core.cli.qmap:qmap",
    "regroup": "xpcs_core.cli.correlate:regroup",
    "simulate": "xpcs_core.cli.simulate:simulate",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it is used or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xpcs")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """XPCS analysis: result files, q-maps, correlation, g2 fits, on pluggable backends."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    config.check_environment()  # every XPCS_* variable, before any work or output
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="xpcs: %(levelname)s: %(message)s",
    )


backend_option = click.option(
    "--backend",
    "backend",
    default=None,
    metavar="NAME",
    help="Backend to compute with (see `xpcs backends`); default: XPCS_BACKEND / XPCS_USE_JAX / priority.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
plot_option = click.option("--plot", "plot_path", default=None, metavar="FILE.png|.pdf",
                           type=click.Path(dir_okay=False, path_type=Path),
                           help="Also write the figures (xpcs_core.plot) to this file.")


def check_plot(plot_path: Path | None, inputs: dict[str, Any]) -> None:
    """Refuse a --plot file with an unknown suffix, or one that is an input, before the work."""
    if plot_path is None:
        return
    from xpcs_core.io.outputs import check_outputs
    from xpcs_core.plot.save import FORMATS

    if plot_path.suffix.lower() not in FORMATS:
        raise XpcsInputError(f"{plot_path}: --plot files must end in {', '.join(FORMATS)}")
    check_outputs({"--plot": plot_path}, inputs)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI and map errors to exit codes."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    if debug:  # accepted anywhere on the line, not only before the subcommand
        args = ["--debug", *(a for a in args if a != "--debug")]
    install_signal_handlers()
    try:
        return cli.main(args=args, prog_name="xpcs", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:  # usage errors: exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):  # click's Ctrl-C
            click.echo("xpcs: interrupted; nothing was written", err=True)
            sys.exit(130)
        click.echo("xpcs: aborted", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("xpcs: interrupted; nothing was written", err=True)
        sys.exit(130)
    except SystemExit as exc:
        if exc.code == 143:  # SIGTERM, see install_signal_handlers
            click.echo("xpcs: terminated; nothing was written", err=True)
        raise
    except XpcsInputError as exc:
        if debug:
            raise
        click.echo(f"xpcs: error: {_one_line(exc)}", err=True)
        sys.exit(2)
    except (XpcsError, OSError) as exc:
        if debug:
            raise
        click.echo(f"xpcs: failed: {_one_line(exc)}", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
