"""Stage {{ 7 if cookiecutter.operations == 'yes' else 6 }}, report: reports/report.html, the page a person opens after ``dvc repro``.

Draws what evaluate and clean wrote{{ ', and the monitoring history,' if cookiecutter.operations == 'yes' else '' }} into one self-contained
HTML file (model_card/report_page.py): it reads reports, never data, so takes seconds.
"""

from __future__ import annotations

from ..core import paths
from ..core.config import load_params
from ..core.errors import run_main
from ..core.files import write_text
from ..model_card.report_page import read_results, report_page


def main() -> None:
    results = read_results(load_params())
    write_text(report_page(results), paths.REPORT)
    size = paths.REPORT.stat().st_size
    print(f"report: {size / 1024:.0f} KB -> {paths.REPORT}")


if __name__ == "__main__":
    run_main(main)
