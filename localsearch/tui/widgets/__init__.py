"""Widgets of the localsearch TUI, one module per widget."""
