"""Pipeline stages, one module each, run by dvc.yaml as ``python -m <package>.stages.<name>``."""
