"""Reports and tables."""
