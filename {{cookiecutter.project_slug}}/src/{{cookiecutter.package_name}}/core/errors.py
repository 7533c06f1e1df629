"""Errors a user can fix, and the one place that turns them into a clean exit.

Commands raise these with a message that says what is wrong and where (file, key,
column, rows). ``run_main`` prints that message without a traceback and exits non-zero,
so ``dvc repro`` stops loudly and DVC records nothing for the stage. Set
``{{ cookiecutter.package_name | upper }}_DEBUG=1`` to see the full traceback instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

DEBUG_VARIABLE = "{{ cookiecutter.package_name | upper }}_DEBUG"


class PipelineError(Exception):
    """A problem in the user's data or configuration, explained in the message."""


class ConfigError(PipelineError):
    """params.yaml or conf/ is missing a key or holds an unusable value."""


class DataError(PipelineError):
    """An input file is missing, empty, or breaks the declared schema."""


def run_main(main: Callable[[], None]) -> None:
    """Run a command's ``main``, turning a PipelineError into a one-paragraph error."""
    try:
        main()
    except PipelineError as error:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt as stop:
        if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
            raise
        print(f"stopped by {stop.args[0] if stop.args else 'Ctrl-C'}", file=sys.stderr)
        raise SystemExit(130) from None


def shorten(value: object, limit: int = 60) -> str:
    """A value's repr cut to ``limit`` characters, so an error never echoes a huge input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
