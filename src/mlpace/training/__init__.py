"""Training harness: time-to-train, MLLOG, checkers, scoring."""
