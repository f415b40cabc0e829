"""Tests of the cost model (azuchi cost)."""
