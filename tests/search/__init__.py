"""Tests of trex.search."""
