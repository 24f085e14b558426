"""A run: the search loop, a node's end, the budget, the calibration, the run options and the workspace.

This is the floor that puts the others together: it asks the agents for plans, turns them into jobs
(``executor``), runs them on a scheduler, settles each node (``node_end``) and stops at the budget.
"""
