"""One settings class for the whole system (environment prefix ``SHIPDOC_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Limits(BaseModel):
    """What intake accepts; anything beyond is rejected with a typed error."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_pages: int = 500
    # Pillow's own bomb guard is 89M pixels; a 300-dpi A3 scan is ~17M.
    max_image_pixels: int = 60_000_000
    ocr_dpi: int = 300
    # A page with fewer usable text-layer characters than this is OCR'd instead.
    min_text_chars: int = 20


class OcrSettings(BaseModel):
    languages: str = "eng+deu+nld+fra"
    tesseract_cmd: str = "tesseract"
    # 0 means one worker per core.
    workers: int = 0
    # Below this mean word confidence a page is re-checked for orientation.
    orientation_check_below: float = 80.0
    timeout_s: float = 120.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHIPDOC_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: str = Field(default="development", description="development|test|production")
    var_dir: Path = DEFAULT_VAR_DIR
    database_url: str = ""
    blob_dir: Path | None = None
    secret_key: SecretStr = SecretStr("change-me")

    limits: Limits = Limits()
    ocr: OcrSettings = OcrSettings()

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.var_dir / 'shipdoc.db').as_posix()}"
        if self.blob_dir is None:
            self.blob_dir = self.var_dir / "blobs"
        if self.environment == "production" and self.secret_key.get_secret_value() == "change-me":
            raise ValueError("SHIPDOC_SECRET_KEY must be set in production")
        return self

    @property
    def blobs(self) -> Path:
        assert self.blob_dir is not None  # set by the validator
        return self.blob_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
