// `atelier gan`: train, sample, walk, eval. Each registers its subcommand
// on the `gan` command and returns what runs it.
#pragma once
#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace atelier::cli {

Runner add_gan_train_command(CLI::App* gan);
Runner add_gan_eval_command(CLI::App* gan);

// --truncation, shared by sample, walk and eval: 0 (off) or 0.1..100 (a
// smaller T would redraw latent entries almost for ever).
void add_truncation_flag(CLI::App* command, double* truncation, const std::string& help);

}  // namespace atelier::cli
