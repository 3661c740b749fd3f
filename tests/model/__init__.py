"""Tests of the model area."""
