// The Python module `atelier`: Atelier's painting methods for notebooks and
// scripts, a thin layer over the torch-free API as the CLI is (docs/PYTHON
// section of the README; type stubs in atelier.pyi).
#include "atelier/painters.hpp"
#include "bindings.hpp"

namespace atelier::python {
namespace {

void add_errors(py::module_& m) {
  static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
  error.doc() = "An error the user can cause (a bad path, setting or file), with the library's one-line message.";
  static py::exception<Stopped> stopped(m, "Stopped", error.ptr());
  stopped.doc() = "A run that its progress callback stopped (it returned 'stop' or False).";
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const Stopped& e) {
      PyErr_SetString(stopped.ptr(), e.what());
    } catch (const Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    } catch (const py::error_already_set&) {
      throw;
    } catch (const py::builtin_exception&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;
    } catch (const std::exception& e) {  // torch's own errors: one line, as the CLI prints them
      PyErr_SetString(error.ptr(), error_message(e).c_str());
    }
  });
}

}  // namespace
}  // namespace atelier::python

PYBIND11_MODULE(atelier, m) {
  using namespace atelier;
  using namespace atelier::python;
  m.doc() =
      "Atelier: neural style transfer (fast styles, Gatys, Magenta, AdaIN) for Python.\n\n"
      "    import atelier\n"
      "    painted = atelier.stylize('photo.jpg', 'candy')                    # a trained style\n"
      "    painted = atelier.stylize('photo.jpg', 'starry.jpg')               # any painting (Magenta)\n"
      "    painted = atelier.stylize(photo, 'starry.jpg', method='gatys', iterations=100)\n"
      "    atelier.save_image(painted, 'out.png')\n\n"
      "Pictures go in as paths, numpy arrays (H x W x 3 or 4, uint8 or float in [0,1]) or PIL images and\n"
      "come out as uint8 numpy arrays. Names of networks resolve through the model search path\n"
      "(models_dir=..., $ATELIER_MODELS, ~/.local/share/atelier/models). Painting releases the GIL.";
  m.attr("__version__") = ATELIER_VERSION;
  add_errors(m);
  m.def(
      "set_threads",
      [](int threads) {
        ensure_runtime();
        configure_runtime(threads);
      }, py::arg("threads"),
      "CPU threads for painting (0: every core, the default; set before or between runs).");
  m.def("gatys_auto_scales", &gatys_auto_scales, py::arg("side"),
        "The CLI's --scales auto for an output side: from a quarter of it (at least 128) up by sqrt(2); give the "
        "coarse ones GatysOptions.coarse_iterations (the CLI: GATYS_AUTO_COARSE_ITERATIONS)");
  m.attr("GATYS_AUTO_COARSE_ITERATIONS") = kGatysAutoCoarseIterations;
  m.def("auto_precision", [](const std::string& device) { return precision_name(auto_precision(device).precision); },
        py::arg("device") = "cpu", "What precision='auto' chooses on this machine: 'fp32' or 'bf16'.");
  add_pictures(m);
  add_fast_style(m);
  add_gatys(m);
  add_magenta(m);
  add_adain(m);
  add_stylize(m);
  add_training(m);
}
