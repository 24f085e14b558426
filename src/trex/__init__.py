"""trex: automated LLM fine-tuning research, from a task file to a searched tree, a tuned model and a report."""

__version__ = "0.1.0"
