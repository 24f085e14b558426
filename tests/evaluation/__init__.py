"""Tests of trex.evaluation."""
