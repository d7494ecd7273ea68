// Man pages and bash completion written from the CLI's own flags (the hidden
// `atelier generate-docs`, run when the package is installed): one source of
// truth, so the docs cannot drift from the commands.
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <utility>
#include <vector>

namespace atelier::cli {

// A command as users type it: {"atelier", "models", "list"}.
using CommandPath = std::vector<std::string>;

// Subcommands and options a user sees: hidden ones (group "") left out.
std::vector<const CLI::App*> visible_subcommands(const CLI::App& command);
std::vector<const CLI::Option*> visible_options(const CLI::App& command);
// The flag names of an option: {"-c", "--content"}; none for a positional.
std::vector<std::string> flag_names(const CLI::Option& option);
// Whether the option reads a value (TEXT, INT ...) rather than being a switch.
bool takes_value(const CLI::Option& option);
// "a b c" from {"a", "b", "c"} with separator " ".
std::string join_words(const std::vector<std::string>& words, const std::string& separator);
// The values a validator allows, when it lists them: "TEXT:{crop,whole}" -> {"crop", "whole"}.
std::vector<std::string> listed_choices(const CLI::Option& option);

// {file name, roff text}: atelier.1, and atelier-<command>[-<subcommand>].1
// for every visible command, nested ones included.
std::vector<std::pair<std::string, std::string>> man_pages(const CLI::App& root, const std::string& version);

// {file name, text}: atelier.help and atelier-<command>.help, each what
// `atelier <command> --help` prints, all from one process (the docs check).
std::vector<std::pair<std::string, std::string>> help_texts(const CLI::App& root);

// A bash completion script (`complete -F _atelier atelier`): subcommands,
// each command's flags, listed values, file names for the rest.
std::string bash_completion(const CLI::App& root);

}  // namespace atelier::cli
