"""mp4 writing (imageio-ffmpeg, written to a temporary file and renamed when complete) and frame layout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class Mp4Writer:
    """Append RGB uint8 frames [H, W, 3]; `close()` finalizes the file atomically."""

    def __init__(self, path: str | Path, fps: float = 10.0):
        import imageio.v2 as imageio

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.stem + ".partial.mp4")
        self._writer = imageio.get_writer(self._tmp, fps=fps, codec="libx264", quality=7, macro_block_size=8)
        self.frames = 0

    def append(self, frame: np.ndarray) -> None:
        self._writer.append_data(np.ascontiguousarray(frame, dtype=np.uint8))
        self.frames += 1

    def close(self) -> Path:
        self._writer.close()
        os.replace(self._tmp, self.path)
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self._writer.close()
            self._tmp.unlink(missing_ok=True)


def upscale_nearest(image: np.ndarray, height: int) -> np.ndarray:
    """Integer nearest-neighbour upscaling of [h, w, 3] to about `height` rows (pixels stay crisp)."""
    factor = max(1, height // image.shape[0])
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


def side_by_side(*images: np.ndarray, gap: int = 4) -> np.ndarray:
    """Panels left to right on a white canvas, vertically centred; sizes rounded up to multiples of 8."""
    height = max(i.shape[0] for i in images)
    width = sum(i.shape[1] for i in images) + gap * (len(images) - 1)
    height, width = -(-height // 8) * 8, -(-width // 8) * 8
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    x = 0
    for img in images:
        y = (height - img.shape[0]) // 2
        canvas[y:y + img.shape[0], x:x + img.shape[1]] = img[..., :3]
        x += img.shape[1] + gap
    return canvas
