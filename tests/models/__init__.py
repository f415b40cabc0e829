"""Tests of the model adapters against stub servers, through the real SDK clients."""
