"""Pipeline stages, one module each, run by dvc.yaml as ``python -m <package>.stages.<name>``.

Each is thin I/O around the domain functions: read params and inputs, call, write.
"""
