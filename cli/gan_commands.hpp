// `atelier gan`: train, sample, walk, eval. Each registers its subcommand
// on the `gan` command and returns what runs it.
#pragma once
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <string>

#include "commands.hpp"

namespace atelier::cli {

Runner add_gan_train_command(CLI::App* gan);
Runner add_gan_eval_command(CLI::App* gan);

// Writes [1,C,H,W] (C 1 or 3) in 0..1 as an image file, atomically.
void save_picture(const torch::Tensor& image, const std::string& path);

}  // namespace atelier::cli
