"""Training inside a job: model loading, SFT with TRL and PEFT, export."""
