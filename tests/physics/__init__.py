"""Tests of the physics area."""
