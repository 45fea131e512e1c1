"""The image files under a folder, found one way for every reader."""
import os
import os.path as osp
from typing import List, Tuple

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif',
                  '.tiff', '.webp')


def find_images(root: str,
                suffixes: Tuple[str, ...] = IMG_EXTENSIONS) -> List[str]:
    """Sorted paths of the files under ``root`` (recursive, following
    links) whose names end in one of ``suffixes`` (any case)."""
    return sorted(
        osp.join(dirpath, name)
        for dirpath, _, names in os.walk(root, followlinks=True)
        for name in names if name.lower().endswith(suffixes))
