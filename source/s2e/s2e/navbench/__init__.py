"""NavBench-GS: fixed episode files, metric summaries with confidence intervals, results tables."""
