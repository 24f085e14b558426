"""Evaluation inside a job: scoring, metrics with intervals, bad cases, diagnostics."""
