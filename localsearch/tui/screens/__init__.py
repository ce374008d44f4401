"""Screens of the localsearch TUI: search, index, adapt, help, and a confirmation dialog."""
