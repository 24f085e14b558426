"""The agents: researchers that plan, the executor that runs plans, and the node diagnosis."""
