#include "painting.hpp"

#include "atelier/model_store.hpp"

namespace atelier::python {

Image Finishing::load(py::handle photo) const {
  if (size && (*size < 16 || *size > 16384)) throw Error("size: " + std::to_string(*size) + " is out of range [16..16384]");
  const Image image = picture_from_python(photo, "photo", max_pixels);
  return size ? without_gil([&] { return resize_longest_side(image, *size); }) : image;
}

FinishOptions Finishing::options(bool has_style, double strength) const {
  FinishOptions finishing;
  finishing.strength = strength;
  finishing.original_colors = original_colors;
  finishing.post = parse_post_steps(post, has_style);
  return finishing;
}

void check_strength(double strength) {
  if (!(strength >= 0 && strength <= 1)) throw Error("strength must be in [0,1], not " + std::to_string(strength));
}

std::string resolve(const std::string& name, py::handle models_dir) {
  return ModelStore(path_or_empty(models_dir)).resolve(name);
}

const char* const kMemoryDoc =
    "max_memory: bytes or '4G' to stay within (larger pictures run in tiles); None: 90% of free memory\n";

const char* const kFinishingDoc =
    "size: longest side the photo is painted at (None: its own size; Gatys: 512 unless scales say)\n"
    "original_colors: keep the photo's colours (luminance-only transfer)\n"
    "post: post-processing steps in order, as the CLI's --post ('hist:content', 'lab:style', 'unsharp:0.5', ...)\n"
    "precision: 'fp32', 'bf16' or 'auto' (None: $ATELIER_PRECISION, else 'auto', as the CLI)\n"
    "max_pixels: refuse photos with more pixels (0: no limit)\n"
    "Returns a uint8 numpy array, H x W x 3, or x 4 when the photo has alpha.";

}  // namespace atelier::python
