"""QR codes for Octopus payments: a display object for notebooks and terminals.

The PNG itself comes from the shared leaf's :func:`qr_png`, the generator the sandbox's landing
page uses too, so the customer's page and the notebook show the same picture.
"""

from ._shared.qrimage import qr_png
from .lifecycle import processing_of


def qr_code(payment_or_url):
    """A QR code for an Octopus payment, shown inline in Jupyter: a :class:`QrCode`.

    Pass a URL/URI string, or a payment (confirm answer, ``get_payment()`` answer, or a setup with
    ``latest_payment``): then it encodes ``processing.octopus_uri``, the ``octopus://`` URI that the
    Octopus App scans. (The desktop landing page shows a QR code of that same URI.)

    >>> qr_code(payment)  # doctest: +SKIP
    <QR code of 'octopus://payment?token=...'>

    Raises:
        ValueError: an empty string, or a mapping without ``processing.octopus_uri``.
    """
    from collections.abc import Mapping

    if isinstance(payment_or_url, str):
        data = payment_or_url
    elif isinstance(payment_or_url, Mapping):
        data = processing_of(payment_or_url)["octopus_uri"]
    else:
        android = getattr(payment_or_url, "android", None)  # a RedirectTargets
        if not isinstance(android, str):
            raise TypeError(f"qr_code() takes a URL string or a payment mapping, not {type(payment_or_url).__name__}.")
        data = android
    if not data:
        raise ValueError("Nothing to encode: pass a non-empty URL or a confirmed payment.")
    return QrCode(data)


class QrCode:
    """A QR code of one string: ``.data``, ``.png`` bytes, ``save(path)``, ``text()`` for terminals.

    Jupyter shows it as an image (``_repr_png_``); its text repr names the data and nothing
    else (no memory address), so executed notebooks compare equal under nbval.
    """

    def __init__(self, data: str):
        #: the encoded string (for a payment, its ``processing.octopus_uri``)
        self.data = data
        #: the PNG image, from :func:`qr_png` (deterministic: same data, same bytes)
        self.png = qr_png(data)

    def save(self, path) -> "QrCode":
        """Write the PNG to ``path`` (str or path-like); returns self."""
        import pathlib

        pathlib.Path(path).write_bytes(self.png)
        return self

    def text(self, invert: bool = True) -> str:
        """The code drawn with block characters, for ``print()`` in a terminal.

        By default light modules are drawn solid, which scans on the usual dark terminal
        background; pass ``invert=False`` (dark modules solid) for a light background.
        """
        import io

        import qrcode
        import qrcode.constants

        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
        code.add_data(self.data)
        code.make(fit=True)
        out = io.StringIO()
        code.print_ascii(out=out, invert=invert)
        return out.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QrCode) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __repr__(self) -> str:
        return f"<QR code of {self.data!r}>"
