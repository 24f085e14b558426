"""Tests of trex.aidp."""
