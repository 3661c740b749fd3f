"""Tests of the detectors area."""
