// atelier generate-docs (hidden): the man pages and the bash completion
// script, written from the flags of every command. The install rules
// (cmake/package.cmake) run it, so the package's docs match its binary.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

#include "atelier/atomic_file.hpp"
#include "atelier/error.hpp"
#include "atelier/version.hpp"
#include "cli_docs.hpp"
#include "commands.hpp"
#include "common_flags.hpp"

namespace atelier::cli {
namespace {

struct DocsArgs {
  std::string man_dir, completion, help_dir;
  OutputFlags flags;
};

int run_generate_docs(const CLI::App& root, const DocsArgs& args) {
  if (args.man_dir.empty() && args.completion.empty() && args.help_dir.empty())
    throw Error("generate-docs: give --man-dir, --bash-completion or both");
  nlohmann::json written = nlohmann::json::array();
  if (!args.man_dir.empty()) {
    std::filesystem::create_directories(args.man_dir);
    for (const auto& [name, text] : man_pages(root, version())) {
      write_file_atomically(args.man_dir + "/" + name, text);
      written.push_back(args.man_dir + "/" + name);
    }
  }
  if (!args.help_dir.empty()) {
    std::filesystem::create_directories(args.help_dir);
    for (const auto& [name, text] : help_texts(root)) {
      write_file_atomically(args.help_dir + "/" + name, text);
      written.push_back(args.help_dir + "/" + name);
    }
  }
  if (!args.completion.empty()) {
    const auto folder = std::filesystem::path(args.completion).parent_path();
    if (!folder.empty()) std::filesystem::create_directories(folder);
    write_file_atomically(args.completion, bash_completion(root));
    written.push_back(args.completion);
  }
  if (args.flags.json)
    std::cout << nlohmann::json{{"written", written}}.dump() << std::endl;
  else if (!args.flags.quiet)
    std::cout << "wrote " << written.size() << " files\n";
  return kExitOk;
}

}  // namespace

Runner add_generate_docs_command(CLI::App& app) {
  auto args = std::make_shared<DocsArgs>();
  // Group "": left out of --help, the man pages and the completion.
  auto* cmd = app.add_subcommand("generate-docs", "Write the man pages and bash completion from the flags")->group("");
  cmd->add_option("--man-dir", args->man_dir, "Folder for atelier.1 and atelier-<command>.1");
  cmd->add_option("--bash-completion", args->completion, "File for the bash completion script");
  // Every command's --help in one process: the docs check would otherwise
  // start the binary (and libtorch) once per command.
  cmd->add_option("--help-dir", args->help_dir, "Folder for each command's --help text (atelier-<command>.help)");
  add_output_flags(cmd, &args->flags, "The files written, as one JSON object", "Only errors");
  return [&app, args] { return run_generate_docs(app, *args); };
}

}  // namespace atelier::cli
