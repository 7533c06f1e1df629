"""Where each stage reads and writes: the conventional layout that dvc.yaml mirrors.

The raw input path is configuration (``data.raw_path``) because it names the user's own
file; everything the pipeline produces lives at a fixed path.
"""

import re
from pathlib import Path

PARAMS = Path("params.yaml")
CONF = Path("conf")

CLEAN = Path("data/interim/clean.parquet")
FEATURES = Path("data/processed/features.parquet")
TRAIN = Path("data/processed/train.parquet")
VALIDATION = Path("data/processed/validation.parquet")
TEST = Path("data/processed/test.parquet")

MODEL = Path("models/model.skops")
METADATA = Path("models/metadata.json")
{%- if cookiecutter.operations == 'yes' %}
PROFILE = Path("models/reference_profile.json")
{%- endif %}

DATA_QUALITY = Path("reports/data_quality.json")
MISSING_VALUES = Path("reports/missing_values.json")
VALIDATION_METRICS = Path("reports/validation_metrics.json")
TUNING = Path("reports/tuning.json")
TUNING_CANDIDATES = Path("reports/tuning_candidates.csv")
METRICS = Path("reports/metrics.json")
SLICE_METRICS = Path("reports/slice_metrics.json")
DECISION = Path("reports/decision.json")  # what evaluate concludes (evaluation/decision.py)
MODEL_CARD = Path("reports/model_card.md")
PLOTS = Path("reports/plots")
REPORT = Path("reports/report.html")
{%- if cookiecutter.operations == 'yes' %}
MONITORING = Path("reports/monitoring")  # monitor's default folder
HISTORY = MONITORING / "history.csv"  # every batch monitored (ops/history.py)
{%- endif %}


def file_stem(label: object) -> str:
    """A class label as a safe, readable file name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label)).strip("_") or "class"
