"""Tests of the decay area."""
