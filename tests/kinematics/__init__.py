"""Tests of the kinematics area."""
