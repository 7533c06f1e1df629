"""One command line for the project: ``python -m <package> <command>``.

Also installed as a console script named after the project. Each command's module is
imported only when it runs, so ``--help`` and light commands start fast. DVC runs the
pipeline stages themselves (``python -m <package>.stages.<name>``).
"""

from __future__ import annotations

import importlib
import sys

# command: (module, what it does)
COMMANDS = {
    "compose": ("core.compose", "compose conf/ into params.yaml (--check: fail if stale)"),
    "draft-schema": ("data.draft", "draft conf/data/ and conf/features/ from a raw CSV"),
    "verify": ("review.verify", "check that the committed dvc.lock and metrics reproduce"),
    "report": ("review.report", "compare params, metrics and plots with a base revision"),
{%- if cookiecutter.operations == 'yes' %}
    "predict": ("ops.predict", "predict a CSV of raw rows into a Parquet file"),
    "serve": ("ops.serve", "serve the model over HTTP (FastAPI; the serve extra)"),
    "monitor": ("ops.monitor", "compare a new batch with the training data, for drift"),
    "add-batches": ("ops.retrain", "add new labelled batches to the raw data, for retraining"),
    "champion": ("ops.champion", "promote a retrained model only if it beats production"),
    "bundle": ("ops.release", "copy a registered model version into a folder, for a container"),
{%- endif %}
}
PROG = "{{ cookiecutter.package_name }}"


def usage() -> str:
    width = max(map(len, COMMANDS))
    listing = "\n".join(f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items())
    return (
        f"usage: python -m {PROG} <command> [options]\n\ncommands:\n{listing}\n\n"
        f"`python -m {PROG} <command> --help` describes a command's options."
    )


def main(argv: list[str] | None = None) -> None:
    from .core.errors import run_main

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        raise SystemExit(0 if argv else 2)
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        raise SystemExit(2)
    module = importlib.import_module(f"{__package__}.{COMMANDS[name][0]}")
    sys.argv[0] = f"{PROG} {name}"
    run_main(lambda: module.main(rest))


if __name__ == "__main__":
    main()
