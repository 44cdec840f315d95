"""One small module per task; each calls :func:`mlpace.workloads.registry.register`.

The registry imports every module here on its first query (so a new task is a new file).
"""
