"""The ``mlpace`` command line. Only this package exits the process."""
