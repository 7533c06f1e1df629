"""Plumbing every other part uses: errors, atomic files, typed params, paths, model files.

Nothing here imports the rest of the package, so stages can depend on this folder as a
whole in dvc.yaml.
"""
