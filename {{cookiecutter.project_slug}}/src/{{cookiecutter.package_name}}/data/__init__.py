"""Raw files to checked rows (the template's): the schema built from conf/data/, reading,
cleaning, splitting, drafting a schema, and the statistics drift is measured with. What
is done to rows that passed the schema is yours, in features.py."""
