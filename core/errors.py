"""The exception hierarchy.

``InputError`` and its subclasses are the caller's bad input: each carries a stable
``code`` that is stored on the document and shown to users. ``ShipdocError`` subclasses
that are not ``InputError`` are failures of our own infrastructure or configuration.
Anything else escaping is a defect.
"""

from __future__ import annotations


class ShipdocError(Exception):
    """Base of every error shipdoc raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InputError(ShipdocError):
    """The document itself is unacceptable; retrying will not help."""

    code = "bad_input"


class EmptyFile(InputError):
    code = "empty_file"


class FileMissing(InputError):
    """A named file that does not exist (or cannot be opened)."""

    code = "file_not_found"


class NotAFile(InputError):
    """A directory, FIFO, socket or device where a document file was expected."""

    code = "not_a_file"


class FileTooLarge(InputError):
    code = "file_too_large"


class UnsupportedType(InputError):
    code = "unsupported_type"


class CorruptDocument(InputError):
    code = "corrupt_document"


class EncryptedDocument(InputError):
    code = "encrypted_document"


class TooManyPages(InputError):
    code = "too_many_pages"


class ImageTooLarge(InputError):
    """Pixel count above the limit: a decompression bomb or an absurd scan."""

    code = "image_too_large"


class ConfigurationError(ShipdocError):
    code = "configuration"


class DependencyMissing(ShipdocError):
    """A required external program or service is not available."""

    code = "dependency_missing"


class NotFound(ShipdocError):
    code = "not_found"
