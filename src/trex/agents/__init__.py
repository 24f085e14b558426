"""The agents: the researchers that plan (heuristic, LLM, random), repair, probes and the node verdict."""
