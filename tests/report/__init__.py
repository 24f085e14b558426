"""Tests of trex.report."""
