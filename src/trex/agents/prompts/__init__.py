"""Prompt files of the agents (YAML), read with importlib.resources."""
