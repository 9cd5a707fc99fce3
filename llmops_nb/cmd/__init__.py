"""Command definitions for the one tree in commands.py, one module per area (core, data, index, models,
evals, batch). Every module here is imported when the tree is first built."""
