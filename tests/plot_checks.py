"""Check that a file is a PNG image with something drawn on it."""

from pathlib import Path

import numpy as np
from matplotlib.image import imread

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png_with_content(path: Path, min_colours: int = 20) -> None:
    """A valid PNG (signature, decodable) that is not blank: many distinct colours, ink on it."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] >= 200 and pixels.shape[1] >= 300
    colours = np.unique(pixels.reshape(-1, pixels.shape[2]), axis=0)
    assert len(colours) >= min_colours, f"{path}: only {len(colours)} colours"
    ink = (pixels[..., :3] < 0.9).any(axis=2).mean()
    assert 0.01 < ink < 0.9, f"{path}: {ink:.3f} of the pixels are drawn on"
