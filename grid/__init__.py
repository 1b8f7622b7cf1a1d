"""Network models: loading, validation, supply zones, reliability data and topology.

Headless: nothing here imports textual or click.
"""
