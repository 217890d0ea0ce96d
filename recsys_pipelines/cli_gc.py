"""`recsys gc`: sweep the temporaries killed writes left in the store."""

from __future__ import annotations

import click

from recsys_algo.config import SharedEnv
from recsys_algo.store.storage import open_storage
from recsys_pipelines.cli_support import handle_errors


@click.command()
@click.option(
    "--older-than",
    "hours",
    default=24.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True, max=87_600),
    help="Hours since a temporary last changed; younger ones may be writes in flight.",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@handle_errors
def gc(hours: float, dry_run: bool) -> None:
    """Remove temporaries a killed or failed write left in the store (never an object)."""
    storage = open_storage(SharedEnv.load().storage_url)
    swept = storage.sweep_temporaries(hours * 3600, dry_run=dry_run)
    for key in swept:
        click.echo(key)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(swept)} temporaries older than {hours:g} h under {storage.url}")
