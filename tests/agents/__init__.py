"""Tests of trex.agents."""
