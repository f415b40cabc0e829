"""Tests of the load test: its smoke run, its checker, the relay and the gateway stats."""
