"""``copyloop doctor``: versions, CPU and llama.cpp build, a short generation in a child process,
the embedding model and the data folders; exit 0 when everything works, 1 otherwise."""

from __future__ import annotations

import typer

from copyloop.cli._common import setup_logging, surface_errors


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        as_json: bool = typer.Option(False, "--json", help="print the report as one JSON object"),
        timeout: float = typer.Option(300.0, "--timeout", min=5.0, help="seconds the generation check may take"),
    ) -> None:
        """Check this installation and print a report to paste into a bug report."""
        setup_logging(quiet=True)
        with surface_errors():
            from rich.console import Console
            from rich.markup import escape

            from copyloop.doctor import run_doctor
            from copyloop.settings import Settings

            err = Console(stderr=True)
            progress = None if as_json else (lambda msg: err.print(f"[dim]checking {msg}…[/]"))
            report = run_doctor(Settings(), generation_timeout=timeout, progress=progress)
            if as_json:
                typer.echo(report.model_dump_json(indent=2))
            else:
                out = Console()
                for check in report.checks:
                    mark = "[green]ok[/]  " if check.ok else "[bold red]FAIL[/]"
                    out.print(f"{mark} [bold]{check.name}[/]: {escape(check.summary)}", highlight=False)
                verdict = "everything works" if report.ok else f"{len(report.failed())} check(s) failed"
                out.print(f"\ncopyloop doctor: {verdict}")
        raise typer.Exit(code=0 if report.ok else 1)
