"""The offline heuristic researcher: plans like a careful engineer, without an LLM."""
