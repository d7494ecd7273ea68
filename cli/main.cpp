// atelier: the command-line front end of libatelier.
#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include <iostream>
#include <map>
#include <string>

#include "atelier/error.hpp"
#include "atelier/runtime.hpp"
#include "atelier/version.hpp"
#include "commands.hpp"

namespace {

// The error goes on a line of its own even when a progress bar was being
// redrawn on the terminal.
void report_error(const std::string& message) {
  if (isatty(STDERR_FILENO)) std::cerr << "\r\033[K";
  std::cerr << "atelier: error: " << atelier::first_line(message) << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file size limit, a write then fails with EFBIG and our error says
  // which file, instead of the process dying silently of SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"Atelier: neural style transfer and AI painting"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "atelier " + atelier::version());
  // Each subcommand registers itself and hands back what runs it.
  const std::map<std::string, atelier::cli::Runner> runners = {
      {"stylize", atelier::cli::add_stylize_command(app)},
      {"stylize-video", atelier::cli::add_video_command(app)},
      {"video-metrics", atelier::cli::add_video_metrics_command(app)},
      {"models", atelier::cli::add_models_command(app)},
      {"train-style", atelier::cli::add_train_style_command(app)},
      {"train-arbitrary", atelier::cli::add_train_arbitrary_command(app)},
      {"data", atelier::cli::add_data_command(app)},
      {"gan", atelier::cli::add_gan_command(app)},
      {"serve", atelier::cli::add_serve_command(app)},
      {"style-vector", atelier::cli::add_style_vector_command(app)},
      {"generate-docs", atelier::cli::add_generate_docs_command(app)},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  // Commands that spend long in matrix products restart once with OpenBLAS
  // on the CPU's own kernels when it fell back to old ones (runtime.hpp).
  for (const char* heavy : {"stylize", "stylize-video", "train-style", "train-arbitrary", "gan", "serve"})
    if (app.get_subcommand(heavy)->parsed()) {
      const std::string core = atelier::better_blas_core();
      if (!core.empty() && setenv("OPENBLAS_CORETYPE", core.c_str(), 1) == 0) execv("/proc/self/exe", argv);
      break;  // without a restart (execv failed, or none needed) the command runs as it is
    }
  try {
    for (const auto& [name, run] : runners)
      if (app.get_subcommand(name)->parsed()) return run();
    return atelier::cli::kExitError;
  } catch (const std::exception& error) {
    report_error(atelier::error_message(error));
  }
  return atelier::cli::kExitError;
}
