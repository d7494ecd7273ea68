"""Type stubs of the atelier module (python/*.cpp): neural style transfer for Python."""
import os
from typing import Any, Callable, Dict, List, Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

PathLike = Union[str, "os.PathLike[str]"]
# A path, a numpy array (H x W, H x W x 3 or 4; uint8, uint16 or float in [0,1]) or a PIL image.
Picture = Union[PathLike, npt.NDArray[Any], Any]
# uint8, H x W x 3 (RGB) or H x W x 4 (RGBA when the photo has alpha).
Painted = npt.NDArray[np.uint8]
Precision = Literal["fp32", "bf16", "auto"]
MaxMemory = Union[int, str, None]

class Error(RuntimeError):
    """An error the user can cause, with the library's one-line message."""

class Stopped(Error):
    """A run that its progress callback stopped (it returned 'stop' or False)."""
    image: Painted  # Gatys: the painting so far, finished as the result would be

def set_threads(threads: int) -> None: ...
GATYS_AUTO_COARSE_ITERATIONS: int
def gatys_auto_scales(side: int) -> List[int]: ...
def auto_precision(device: str = "cpu") -> Literal["fp32", "bf16"]: ...
def load_image(path: PathLike, max_pixels: int = ...) -> Painted: ...
def save_image(picture: Picture, path: PathLike, quality: int = ..., bit_depth: int = ...) -> None: ...
def resize(picture: Picture, longest_side: int) -> Painted: ...
def match_histograms(picture: Picture, reference: Picture) -> Painted: ...
def transfer_colors(picture: Picture, reference: Picture) -> Painted: ...
def keep_original_colors(picture: Picture, reference: Picture) -> Painted: ...
def finish(painted: Picture, photo: Picture, style: Optional[Picture] = None, *, strength: float = ...,
           original_colors: bool = ..., post: Sequence[str] = ...) -> Painted: ...

def stylize(photo: Picture, style: Union[Picture, "StyleVector", "AdainStyle", Sequence[Any], None] = None,
            method: Optional[Literal["fast", "gatys", "magenta", "adain"]] = None, **options: Any) -> Painted: ...
def clear_cache() -> None: ...

class FastStyle:
    path: str
    architecture: str
    def __init__(self, model: PathLike, *, device: str = "cpu", models_dir: Optional[PathLike] = None) -> None: ...
    def __call__(self, photo: Picture, *, strength: float = ..., size: Optional[int] = None,
                 original_colors: bool = False, post: Sequence[str] = ..., precision: Optional[Precision] = None,
                 max_memory: MaxMemory = None, max_pixels: int = ...) -> Painted: ...

class GatysProgress:
    scale: int
    scales: int
    iteration: int
    iterations: int
    width: int
    height: int
    loss: float
    content: float
    style: float
    tv: float

class GatysOptions:
    content_layers: List[str]
    style_layers: List[str]
    content_weight: float
    style_weight: float
    tv_weight: float
    style_blend: List[float]
    style_scale: float
    init: Any  # 'content', 'noise', or a picture (reads back as 'image')
    seed: int
    optimizer: Literal["lbfgs", "adam"]
    learning_rate: float
    history: int
    pyramid: int  # 1: plain pixels; 0: the default (a pyramid with L-BFGS)
    iterations: int
    coarse_iterations: int
    scales: List[int]
    def __init__(self) -> None: ...

ProgressAnswer = Union[None, bool, str]

class Gatys:
    path: str
    architecture: str
    def __init__(self, weights: PathLike = ..., *, preprocess: Optional[Literal["caffe", "torchvision"]] = None,
                 pooling: Optional[Literal["max", "avg"]] = None, device: str = "cpu",
                 models_dir: Optional[PathLike] = None) -> None: ...
    def default_options(self) -> GatysOptions: ...
    def __call__(self, photo: Picture, style: Union[Picture, Sequence[Picture]], *, size: Optional[int] = None,
                 progress: Optional[Callable[[GatysProgress], ProgressAnswer]] = None,
                 preview: Optional[Callable[[Painted, GatysProgress], ProgressAnswer]] = None, preview_every: int = 10,
                 original_colors: bool = False,
                 post: Sequence[str] = ..., precision: Optional[Precision] = None, max_pixels: int = ...,
                 options: Optional[GatysOptions] = None, **overrides: Any) -> Painted: ...

class StyleVector:
    values: npt.NDArray[np.float32]
    model: str
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> "StyleVector": ...
    def save(self, path: PathLike) -> None: ...
    @staticmethod
    def load(path: PathLike) -> "StyleVector": ...
    def __len__(self) -> int: ...

def blend_style_vectors(styles: Sequence[StyleVector], weights: Sequence[float]) -> StyleVector: ...
def interpolate_style_vectors(style: StyleVector, own: StyleVector, strength: float) -> StyleVector: ...

class Magenta:
    def __init__(self, *, device: str = "cpu", models_dir: Optional[PathLike] = None) -> None: ...
    def style_vector(self, painting: Picture, *, fit: Literal["crop", "whole"] = "crop", style_size: int = ...,
                     max_pixels: int = ...) -> StyleVector: ...
    def __call__(self, photo: Picture, style: Union[Picture, StyleVector, Sequence[Union[Picture, StyleVector]]], *,
                 blend: Optional[Sequence[float]] = None, strength: float = 1.0,
                 fit: Literal["crop", "whole"] = "crop", style_size: int = ..., size: Optional[int] = None,
                 original_colors: bool = False, post: Sequence[str] = ..., precision: Optional[Precision] = None,
                 max_memory: MaxMemory = None, max_pixels: int = ...) -> Painted: ...

class AdainStyle:
    level: str
    mean: npt.NDArray[np.float32]
    std: npt.NDArray[np.float32]

class AdaIN:
    level: str
    def __init__(self, *, encoder: PathLike = ..., decoder: PathLike = ..., device: str = "cpu",
                 models_dir: Optional[PathLike] = None) -> None: ...
    def style(self, painting: Picture, *, style_size: int = ..., precision: Optional[Precision] = None) -> AdainStyle: ...
    def __call__(self, photo: Picture, style: Union[Picture, AdainStyle, Sequence[Union[Picture, AdainStyle]]], *,
                 weights: Optional[Sequence[float]] = None, strength: float = ..., mask: Optional[Picture] = None,
                 preserve_color: bool = False, size: Optional[int] = None, original_colors: bool = False,
                 post: Sequence[str] = ..., precision: Optional[Precision] = None, max_memory: MaxMemory = None,
                 max_pixels: int = ...) -> Painted: ...

class _TrainingJob:
    output: str
    device: str
    precision: Literal["fp32", "bf16"]
    checkpoint_every: int
    resume: bool

class StyleTrainingJob(_TrainingJob):
    style: str
    data: str
    weights: str
    models_dir: str
    content_weight: float
    style_weight: float
    tv_weight: float
    learning_rate: float
    style_size: int
    seed: int
    batch_size: int
    image_size: int
    steps: int
    epochs: int
    crop: str
    workers: int
    preview_every: int
    title: str
    artist: str
    def __init__(self) -> None: ...

class ArbitraryTrainingJob(_TrainingJob):
    content: str
    styles: str
    encoder: str
    models_dir: str
    level: str
    content_weight: float
    style_weight: float
    learning_rate: float
    seed: int
    batch_size: int
    image_size: int
    steps: int
    crop: str
    workers: int
    preview_every: int
    preview_style: str
    preview_content: str
    def __init__(self) -> None: ...

TrainingCallback = Callable[[Dict[str, Any]], ProgressAnswer]

def train_style(job: Optional[StyleTrainingJob] = None, *, progress: Optional[TrainingCallback] = None,
                log: Optional[Callable[[str], ProgressAnswer]] = None, **fields: Any) -> Dict[str, Any]: ...
def train_arbitrary(job: Optional[ArbitraryTrainingJob] = None, *, progress: Optional[TrainingCallback] = None,
                    log: Optional[Callable[[str], ProgressAnswer]] = None, **fields: Any) -> Dict[str, Any]: ...
