"""Operating the estate: the ops screen, /metrics, queue depths, workers, failure groups, dead letters."""
