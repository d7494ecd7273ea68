// Training from Python: a feed-forward style (train_style) and an AdaIN
// decoder (train_arbitrary), the library's whole training jobs with their
// resume, checkpoints and logs; progress as a callback that can stop them.
#include <pybind11/functional.h>

#include "atelier/training_run.hpp"
#include "bindings.hpp"

namespace atelier::python {
namespace {

using namespace pybind11::literals;

// The callbacks as the library's events: progress after every step, the
// run's notices; either may stop it, as may Ctrl-C (RunGuard): a checkpoint
// is taken and the run ends Interrupted.
struct TrainingWatch {
  py::object progress, log;
  RunGuard guard;

  TrainingEvents events() {
    TrainingEvents events;
    if (!progress.is_none())
      events.step = [this](const TrainingProgress& step) {
        guard.call([&] {
          py::dict losses;
          for (const auto& [name, value] : step.losses) losses[py::str(name)] = value;
          return progress(py::dict("step"_a = step.step, "steps"_a = step.total_steps, "losses"_a = losses,
                                   "summary"_a = step.summary));
        });
      };
    if (!log.is_none())
      events.info = [this](const std::string& message, const nlohmann::json&) {
        guard.call([&] { return log(py::str(message)); });
      };
    events.stop_requested = [this] { return guard.stop_requested(); };
    return events;
  }
};

// Runs a job whose fields come from `job` (an object of the bound class)
// and `fields`; Interrupted is atelier.Stopped, Diverged atelier.Error.
template <typename Job>
py::dict run(py::handle job_class, const std::optional<Job>& given, const py::kwargs& fields, py::object progress,
             py::object log, TrainingOutcome (*train)(const Job&, const TrainingEvents&)) {
  py::object holder = py::cast(given ? *given : Job{});
  for (auto item : fields) {
    const std::string key = py::str(item.first);
    if (!py::hasattr(holder, key.c_str()))
      throw py::type_error("unknown training setting '" + key + "' (see atelier." +
                           py::str(job_class.attr("__name__")).cast<std::string>() + ")");
    holder.attr(key.c_str()) = item.second;
  }
  const Job job = holder.cast<Job>();
  ensure_runtime();
  TrainingWatch watch{progress, log};
  const TrainingEvents events = watch.events();
  const TrainingOutcome outcome = without_gil([&] { return train(job, events); });
  watch.guard.raise_failure();
  if (outcome.end == TrainingEnd::Interrupted) throw Stopped(outcome.message);
  if (outcome.end == TrainingEnd::Diverged) throw Error(outcome.message);
  return py::dict("output"_a = job.run.output, "steps"_a = outcome.steps);
}

// The settings every job shares (TrainingRunOptions), flattened onto its class.
template <typename Job>
void add_run_fields(py::class_<Job>& job) {
  job.def_property("output", [](const Job& j) { return j.run.output; }, [](Job& j, const std::string& v) { j.run.output = v; },
                   "the trained weights (.safetensors); the run's logs, previews and checkpoint go beside it")
      .def_property("device", [](const Job& j) { return j.run.device; }, [](Job& j, const std::string& v) { j.run.device = v; })
      .def_property("precision", [](const Job& j) { return precision_name(j.run.precision); },
                    [](Job& j, const std::string& v) { j.run.precision = parse_precision(v, j.run.device); }, "'fp32' or 'bf16'")
      .def_property("checkpoint_every", [](const Job& j) { return j.run.checkpoint_every; },
                    [](Job& j, int v) { j.run.checkpoint_every = v; })
      .def_property("resume", [](const Job& j) { return j.run.resume; }, [](Job& j, bool v) { j.run.resume = v; },
                    "continue from OUTPUT.checkpoint.safetensors (the same job)");
}

}  // namespace

void add_training(py::module_& m) {
  py::class_<StyleTrainingJob> style_job(m, "StyleTrainingJob",
                                         "The settings of atelier.train_style, with the library's defaults.");
  style_job.def(py::init<>())
      .def_readwrite("style", &StyleTrainingJob::style, "the style picture")
      .def_readwrite("data", &StyleTrainingJob::data, "a folder of photos (or one prepared by `atelier data prepare`)")
      .def_readwrite("weights", &StyleTrainingJob::weights, "feature network: a name or a path")
      .def_readwrite("models_dir", &StyleTrainingJob::models_dir)
      .def_readwrite("content_weight", &StyleTrainingJob::content_weight)
      .def_readwrite("style_weight", &StyleTrainingJob::style_weight)
      .def_readwrite("tv_weight", &StyleTrainingJob::tv_weight)
      .def_readwrite("learning_rate", &StyleTrainingJob::learning_rate)
      .def_readwrite("style_size", &StyleTrainingJob::style_size, "longest side of the style picture; 0: as it is")
      .def_readwrite("seed", &StyleTrainingJob::seed)
      .def_readwrite("batch_size", &StyleTrainingJob::batch_size)
      .def_readwrite("image_size", &StyleTrainingJob::image_size)
      .def_readwrite("steps", &StyleTrainingJob::steps)
      .def_readwrite("epochs", &StyleTrainingJob::epochs)
      .def_readwrite("crop", &StyleTrainingJob::crop, "'center', 'random' or 'none'")
      .def_readwrite("workers", &StyleTrainingJob::workers)
      .def_readwrite("preview_every", &StyleTrainingJob::preview_every)
      .def_readwrite("title", &StyleTrainingJob::title)
      .def_readwrite("artist", &StyleTrainingJob::artist);
  add_run_fields(style_job);

  py::class_<ArbitraryTrainingJob> arbitrary_job(m, "ArbitraryTrainingJob",
                                                 "The settings of atelier.train_arbitrary, with the library's defaults.");
  arbitrary_job.def(py::init<>())
      .def_readwrite("content", &ArbitraryTrainingJob::content, "a folder of photos")
      .def_readwrite("styles", &ArbitraryTrainingJob::styles, "a folder of paintings")
      .def_readwrite("encoder", &ArbitraryTrainingJob::encoder)
      .def_readwrite("models_dir", &ArbitraryTrainingJob::models_dir)
      .def_readwrite("level", &ArbitraryTrainingJob::level, "'relu3_1' or 'relu4_1'; empty: relu4_1 when the encoder has it")
      .def_readwrite("content_weight", &ArbitraryTrainingJob::content_weight)
      .def_readwrite("style_weight", &ArbitraryTrainingJob::style_weight)
      .def_readwrite("learning_rate", &ArbitraryTrainingJob::learning_rate)
      .def_readwrite("seed", &ArbitraryTrainingJob::seed)
      .def_readwrite("batch_size", &ArbitraryTrainingJob::batch_size)
      .def_readwrite("image_size", &ArbitraryTrainingJob::image_size)
      .def_readwrite("steps", &ArbitraryTrainingJob::steps)
      .def_readwrite("crop", &ArbitraryTrainingJob::crop)
      .def_readwrite("workers", &ArbitraryTrainingJob::workers)
      .def_readwrite("preview_every", &ArbitraryTrainingJob::preview_every)
      .def_readwrite("preview_style", &ArbitraryTrainingJob::preview_style)
      .def_readwrite("preview_content", &ArbitraryTrainingJob::preview_content);
  add_run_fields(arbitrary_job);

  const char* kRunDoc =
      "Settings come from `job` and/or keywords named as its fields. progress(dict(step, steps, losses,\n"
      "summary)) is called after every step and log(message) for the run's notices; either returning 'stop'\n"
      "or False takes a checkpoint and raises atelier.Stopped (resume=True continues). A diverged run raises\n"
      "atelier.Error. Returns dict(output, steps).";
  m.def(
      "train_style",
      [style_job](std::optional<StyleTrainingJob> job, py::object progress, py::object log, py::kwargs fields) {
        return run<StyleTrainingJob>(style_job, job, fields, progress, log, &train_style);
      },
      py::arg("job") = py::none(), py::kw_only(), py::arg("progress") = py::none(), py::arg("log") = py::none(),
      (std::string("Trains a feed-forward style network for one style picture on a folder of photos\n"
                   "(`atelier train-style`): atelier.train_style(style='starry.jpg', data='photos/',\n"
                   "output='starry.safetensors', steps=2000). ") + kRunDoc).c_str());
  m.def(
      "train_arbitrary",
      [arbitrary_job](std::optional<ArbitraryTrainingJob> job, py::object progress, py::object log, py::kwargs fields) {
        return run<ArbitraryTrainingJob>(arbitrary_job, job, fields, progress, log, &train_arbitrary);
      },
      py::arg("job") = py::none(), py::kw_only(), py::arg("progress") = py::none(), py::arg("log") = py::none(),
      (std::string("Trains an AdaIN decoder on a folder of photos and one of paintings (`atelier\n"
                   "train-arbitrary`); atelier.AdaIN(decoder=output) then paints with any painting. ") + kRunDoc).c_str());
}

}  // namespace atelier::python
