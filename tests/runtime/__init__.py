"""Tests of trex.runtime."""
