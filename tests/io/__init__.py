"""Tests of the io area."""
