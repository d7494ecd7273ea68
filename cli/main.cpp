// atelier: the command-line front end of libatelier.
#include <c10/util/Exception.h>

#include <iostream>
#include <map>
#include <string>

#include "atelier/error.hpp"
#include "commands.hpp"

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Atelier: neural style transfer and AI painting"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "atelier 0.1.0");
  // Each subcommand registers itself and hands back what runs it.
  const std::map<std::string, atelier::cli::Runner> runners = {
      {"stylize", atelier::cli::add_stylize_command(app)},
      {"models", atelier::cli::add_models_command(app)},
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    for (const auto& [name, run] : runners)
      if (app.get_subcommand(name)->parsed()) return run();
    return atelier::cli::kExitError;
  } catch (const atelier::Error& error) {
    std::cerr << "atelier: error: " << first_line(error.what()) << std::endl;
  } catch (const c10::Error& error) {
    std::cerr << "atelier: error: torch: " << first_line(error.what_without_backtrace()) << std::endl;
  } catch (const std::exception& error) {
    std::cerr << "atelier: error: " << first_line(error.what()) << std::endl;
  }
  return atelier::cli::kExitError;
}
