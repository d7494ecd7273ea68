// What the painting classes share (fast_style.cpp, gatys.cpp, magenta.cpp,
// adain.cpp): the photo loaded and resized as --size says, the finishing
// options, names resolved through the model search path.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "atelier/finish.hpp"
#include "bindings.hpp"

namespace atelier::python {

// What every method does around its painter, as the CLI's one-pass batch:
// the photo at --size, and the finishing options.
struct Finishing {
  std::optional<int> size;
  bool original_colors = false;
  std::vector<std::string> post;
  std::int64_t max_pixels = default_max_pixels();

  Image load(py::handle photo) const;
  FinishOptions options(bool has_style, double strength = 1.0) const;
};

// Throws atelier::Error unless 0 <= strength <= 1.
void check_strength(double strength);
// A network's name or path as a file, through the model search path.
std::string resolve(const std::string& name, py::handle models_dir);

// The keyword arguments every __call__ shares, documented once.
extern const char* const kFinishingDoc;
// max_memory, for the one-pass methods.
extern const char* const kMemoryDoc;

}  // namespace atelier::python
