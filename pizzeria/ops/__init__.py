"""Operating the estate: counters, queue depths, the ops screen, failure groups, structured logs."""
