// What the parts of the Python module share: the pictures' way in and out,
// the runtime set-up, and the exceptions. The module is a thin layer over the
// torch-free API, as the CLI is: it converts, calls the library and converts
// back.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "atelier/error.hpp"
#include "atelier/image.hpp"
#include "atelier/runtime.hpp"

namespace atelier::python {

namespace py = pybind11;

// A run that the progress callback stopped (atelier.Stopped).
class Stopped : public Error {
 public:
  using Error::Error;
};

// A picture from Python: a path (str or os.PathLike: read by the library's
// load_image, as the CLI reads it), a numpy array (H x W, H x W x 3 or
// H x W x 4; uint8, uint16, or float in [0,1]) or a PIL image. `what` names
// it in errors ("photo", "style").
Image picture_from_python(py::handle picture, const std::string& what, std::int64_t max_pixels);
// Several pictures: one, or a list or tuple of them.
std::vector<py::handle> as_list(py::handle one_or_many);
// A grey mask (numpy H x W, or any picture: its RGB) as CV_32FC3 RGB [0,1].
cv::Mat mask_picture_from_python(py::handle mask);
// uint8 H x W x 3 (RGB) or H x W x 4 (RGBA when the image has alpha), rounded
// as save_image rounds.
py::array picture_to_python(const Image& image);

// The library's --max-pixels default, and the memory budget: None -> 90% of
// the memory free now (the CLI's default), an int of bytes, or "4G".
std::int64_t default_max_pixels();
std::int64_t memory_budget(py::handle max_memory);
// None: $ATELIER_PRECISION, else "auto" (as the CLI's --precision); then
// parse_precision.
Precision precision_for(const std::optional<std::string>& name, const std::string& device);
// configure_runtime(0) once, unless set_threads came first (the CLI's
// default: every core).
void ensure_runtime();
// An optional str or os.PathLike as a path ("" for None).
std::string path_or_empty(py::handle path);

// `work()` with the GIL released (painting, loading), its result returned
// to a caller that holds the GIL again.
template <typename Work>
auto without_gil(Work&& work) {
  py::gil_scoped_release unlocked;
  return work();
}

// A progress callback's answer: "stop" or False stops the run.
bool says_stop(py::handle answer);

// The Python side of a run the library drives with the GIL released
// (Gatys, training): callbacks are called with the GIL held, and "stop" or
// False stops the run; so do an exception in a callback and Ctrl-C (a
// notebook's interrupt: KeyboardInterrupt), which raise_failure() raises
// once the run has returned.
class RunGuard {
 public:
  template <typename Call>
  void call(Call&& call) {
    py::gil_scoped_acquire locked;
    if (stop_) return;
    try {
      stop_ = says_stop(call());
    } catch (py::error_already_set& error) {
      keep(std::move(error));
    }
  }
  // Polled by the library between iterations or steps.
  bool stop_requested() {
    if (stop_) return true;
    py::gil_scoped_acquire locked;
    if (PyErr_CheckSignals() != 0) keep(py::error_already_set());
    return stop_;
  }
  // With the GIL held, after the run.
  void raise_failure() {
    if (!failure_) return;
    py::error_already_set error = std::move(*failure_);
    failure_.reset();
    throw error;
  }

 private:
  void keep(py::error_already_set&& error) {
    failure_.emplace(std::move(error));
    stop_ = true;
  }
  bool stop_ = false;
  std::optional<py::error_already_set> failure_;
};

void add_pictures(py::module_& m);
void add_fast_style(py::module_& m);
void add_gatys(py::module_& m);
void add_magenta(py::module_& m);
void add_adain(py::module_& m);
void add_stylize(py::module_& m);
void add_training(py::module_& m);

}  // namespace atelier::python
