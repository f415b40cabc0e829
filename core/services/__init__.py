"""Use cases: one module per flow of DESIGN §4."""
