"""``xpcs backends``: the discovered plugins, their state and capabilities."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per plugin.")
def backends(as_json: bool) -> None:
    """List the backend plugins: availability, devices, capabilities, load errors."""
    from xpcs_core.backends import list_backends, selection_order

    rows = list_backends()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="xpcs backends")
    for col in ("", "name", "version", "priority", "available", "devices", "capabilities", "distribution"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            "*" if row["active"] else "",
            row["name"],
            row["version"] or "?",
            "" if row["priority"] is None else str(row["priority"]),
            "yes" if row["available"] else "no",
            ", ".join(row["devices"]),
            ", ".join(row["capabilities"]),
            row["distribution"] or "",
        )
    console = Console(width=max(Console().width, 110))
    console.print(table)
    for row in rows:
        if row["error"]:
            console.print(f"[red]{row['name']}: load error:[/red] {escape(row['error'])}")
        elif row["reason"]:
            console.print(f"[yellow]{row['name']}: unavailable:[/yellow] {escape(row['reason'])}")
    active = next((r["name"] for r in rows if r["active"]), None)
    console.print(f"active backend: {active or 'none'}  (* above)")
    console.print(f"order in force: {selection_order()}")
