"""Reliability: failure-effect analysis, analytical indices, Monte-Carlo kernel, results, scenarios."""
