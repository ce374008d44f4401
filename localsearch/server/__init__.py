"""The resident search process: one warm engine per data folder, reached over a Unix socket.

`protocol` and `client` import only the standard library, so a `localsearch search` that finds
a running server never pays for torch, numpy or SQLite; `service` holds the engine.
"""
