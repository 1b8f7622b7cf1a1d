"""Example data and scripts shipped with gridscope."""
