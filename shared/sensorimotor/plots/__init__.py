"""Plotting helpers of the chapters, one module per chapter (import them by full path)."""
