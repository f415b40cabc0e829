"""Load tests of concurrent sessions, and the cost model built on what they measure."""
