"""Workloads: tasks, backends, data sets, accuracy scripts."""
