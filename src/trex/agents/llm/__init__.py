"""The LLM researcher: its prompts, its answer schema, what it reads of a node, and the tools it may call."""
