"""Turning folders into chunks: walk, extract text per format, chunk."""
