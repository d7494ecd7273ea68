// The CLI's subcommands. Each registers its options on the CLI11 app and
// returns the function that runs it (returning the process exit code).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace atelier::cli {

// Exit codes shared by every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
// The optimisation diverged (NaN/inf loss): the last good image was written.
constexpr int kExitDiverged = 3;
// Stopped by Ctrl-C (SIGINT) or SIGTERM after writing a checkpoint.
constexpr int kExitInterrupted = 130;

using Runner = std::function<int()>;

Runner add_stylize_command(CLI::App& app);
Runner add_models_command(CLI::App& app);
Runner add_video_command(CLI::App& app);
Runner add_video_metrics_command(CLI::App& app);
Runner add_train_style_command(CLI::App& app);
Runner add_train_arbitrary_command(CLI::App& app);
Runner add_data_command(CLI::App& app);
Runner add_gan_command(CLI::App& app);
Runner add_serve_command(CLI::App& app);
Runner add_style_vector_command(CLI::App& app);
// Hidden: the man pages and bash completion, from every command's flags.
Runner add_generate_docs_command(CLI::App& app);

}  // namespace atelier::cli
