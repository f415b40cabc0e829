"""Contract suites: every registered adapter of a port passes that port's suite."""
