// `atelier gan`: train, sample, walk, eval. Each registers its subcommand
// on the `gan` command and returns what runs it.
#pragma once
#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace atelier::cli {

Runner add_gan_train_command(CLI::App* gan);
Runner add_gan_eval_command(CLI::App* gan);

}  // namespace atelier::cli
