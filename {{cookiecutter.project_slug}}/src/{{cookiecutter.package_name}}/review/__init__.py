"""What CI runs: verify results reproduce, report changes, post them; git, DVC and GitHub.

No stage imports this folder, so changing it leaves `dvc status` up to date.
"""
