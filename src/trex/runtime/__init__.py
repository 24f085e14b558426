"""Job runtime: the Job spec, the worker process, the schedulers."""
