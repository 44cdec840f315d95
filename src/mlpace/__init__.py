"""mlpace: the MLPerf benchmark system in Python.

Subpackages: ``loadgen`` (inference load generator), ``workloads`` (tasks, backends, data sets,
accuracy scripts), ``training`` (time-to-train harness, MLLOG, checkers), ``compat`` (drop-in
``mlperf_loadgen`` API) and ``cli``. Importing ``mlpace`` does no work.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
