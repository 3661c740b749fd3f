"""Tests of the analysis area."""
