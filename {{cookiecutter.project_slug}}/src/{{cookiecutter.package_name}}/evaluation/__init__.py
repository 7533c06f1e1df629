"""How good a model is and what follows from it (the template's; your metrics are in
metrics.py): scoring, tuning's search, the decision evaluate records and the quality
gate's limits."""
