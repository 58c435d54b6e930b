"""Analysis instruments: coverage, attention-to-DAG recovery, embedding alignment, plots."""
