// Walking the CLI11 tree for the generated docs (man pages, completion).
#include "cli_docs.hpp"

#include <algorithm>

namespace atelier::cli {

std::vector<const CLI::App*> visible_subcommands(const CLI::App& command) {
  return command.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

std::vector<const CLI::Option*> visible_options(const CLI::App& command) {
  return command.get_options([](const CLI::Option* option) { return !option->get_group().empty(); });
}

std::vector<std::string> flag_names(const CLI::Option& option) {
  std::vector<std::string> names;
  for (const auto& name : option.get_snames()) names.push_back("-" + name);
  for (const auto& name : option.get_lnames()) names.push_back("--" + name);
  return names;
}

bool takes_value(const CLI::Option& option) { return option.get_type_size_max() > 0; }

std::string join_words(const std::vector<std::string>& words, const std::string& separator) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : separator) + word;
  return text;
}

std::vector<std::string> listed_choices(const CLI::Option& option) {
  const std::string type = option.get_type_name();
  const auto open = type.find('{'), close = type.find('}', open);
  if (open == std::string::npos || close == std::string::npos) return {};
  std::vector<std::string> choices;
  std::string::size_type start = open + 1;
  while (start <= close) {
    const auto end = std::min(type.find(',', start), close);
    if (end > start) choices.push_back(type.substr(start, end - start));
    start = end + 1;
  }
  return choices;
}

}  // namespace atelier::cli
