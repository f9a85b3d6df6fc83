"""The leaf both halves of octopus_nb stand on: it imports nothing else from the package.

- ``contract``: the wire contract's constants (field lists, limits, patterns, API version).
- ``signing``: the webhook ``Cko-Signature`` (the sandbox signs, the toolkit verifies).
- ``qrimage``: QR code PNG bytes (the landing page and the notebooks show the same picture).
- ``serving``: one tornado server on its own loop in a daemon thread (the sandbox, the receiver).

The sandbox imports only from here, tornado, qrcode/Pillow and the standard library, so it runs
without requests, pandas or ipywidgets; the toolkit imports the same names instead of copies.
"""
