"""Developer docs generated from the code, so they cannot drift: CLI reference, problem codes."""

from __future__ import annotations

from pathlib import Path

import click

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _walk(cmd: click.Command, path: list[str]):
    """Every command under ``cmd``, groups imported when run included (``cli._Main``)."""
    yield path, cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in sorted(cmd.list_commands(ctx)):
            yield from _walk(cmd.get_command(ctx, name), path + [name])


def cli_reference() -> str:
    from .cli import main

    out = ["# CLI reference", "", "Generated from `--help` by `make docs` (a test checks it is current).", ""]
    for path, cmd in _walk(main, ["cchc_xl"]):
        ctx = click.Context(cmd, info_name=" ".join(path), terminal_width=100, max_content_width=100)
        out += [f"## `{' '.join(path)}`", "", "```", cmd.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(out)


def problems_reference() -> str:
    from .problems import catalogue_markdown

    return "# Mã lỗi / Problem codes\n\nGenerated from `cchc_xl/problems.py` by `make docs`.\n\n" + \
        catalogue_markdown("vi") + "\n"


def write_docs() -> list[Path]:
    DOCS.mkdir(exist_ok=True)
    written = []
    import json

    from .blueprint.schema import blueprint_schema

    schema = json.dumps(blueprint_schema(), ensure_ascii=False, indent=2) + "\n"
    for name, text in (("cli.md", cli_reference()), ("problems.md", problems_reference()),
                       ("blueprint.schema.json", schema)):
        p = DOCS / name
        p.write_text(text, encoding="utf-8")
        written.append(p)
    return written


if __name__ == "__main__":
    for p in write_docs():
        print(p)
