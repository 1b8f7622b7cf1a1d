"""Widgets of the Textual UI."""
