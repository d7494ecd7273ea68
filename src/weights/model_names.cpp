#include "atelier/model_names.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

namespace atelier {
namespace {

constexpr const char* kDash = " \u2014 ";  // an em dash: the title, then what tells it apart

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// One word of a file name as a title shows it.
std::string readable_word(const std::string& word, bool first) {
  // Acronyms and names whose spelling is not a capital and lower case.
  static const std::map<std::string, std::string> spelled = {
      {"vgg", "VGG"},       {"vgg16", "VGG16"}, {"vgg19", "VGG19"}, {"resnet", "ResNet"}, {"resnet50", "ResNet50"},
      {"adain", "AdaIN"},   {"gan", "GAN"},     {"ii", "II"},       {"iii", "III"},       {"iv", "IV"},
      {"vi", "VI"},         {"vii", "VII"},     {"viii", "VIII"},   {"ix", "IX"},         {"xii", "XII"}};
  // Little words stay small inside a title, as in "The Bride of the Wind".
  static const std::set<std::string> small = {"a", "an", "and", "at", "by", "de", "du", "in",
                                              "of", "on", "the", "to", "with"};
  const std::string key = lower(word);
  const auto found = spelled.find(key);
  if (found != spelled.end()) return found->second;
  if (!first && small.count(key)) return key;
  std::string out = word;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// What tells styles with the same title apart: "fast, Engstrom".
std::string qualifier(const ModelStore::Entry& entry) {
  std::string family = family_name(entry.family);
  if (family.empty()) family = readable_name(std::filesystem::path(entry.name).parent_path().filename().string());
  const std::string kind = is_fast_style_architecture(entry.architecture) ? "fast" : "";
  if (kind.empty() || family.empty()) return kind + family;
  return kind + ", " + family;
}

// Indexes of entries whose display names are the same as another's.
std::vector<std::size_t> shared_names(const std::vector<ModelStore::Entry>& entries) {
  std::map<std::string, int> count;
  for (const auto& entry : entries) ++count[lower(entry.display_name)];
  std::vector<std::size_t> shared;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (count[lower(entries[i].display_name)] > 1) shared.push_back(i);
  return shared;
}

}  // namespace

std::string readable_name(const std::string& raw) {
  std::string words, word;
  const auto flush = [&] {
    if (word.empty()) return;
    words += (words.empty() ? "" : " ") + readable_word(word, words.empty());
    word.clear();
  };
  for (char c : raw) {
    if (c == '_' || c == '-' || c == ' ' || c == '.' || c == '/') flush();
    else word += c;
  }
  flush();
  return words;
}

std::string family_name(const std::string& family) {
  // Projects keep their own spelling; people's and tools' names read as names.
  static const std::set<std::string> as_spelled = {"pytorch-examples"};
  if (as_spelled.count(family)) return family;
  return readable_name(family);
}

bool is_fast_style_architecture(const std::string& architecture) {
  return architecture == "pytorch-examples" || architecture == "engstrom";
}

void assign_display_names(std::vector<ModelStore::Entry>& entries) {
  for (auto& entry : entries) entry.display_name = entry.title.empty() ? readable_name(entry.name) : entry.title;
  for (std::size_t i : shared_names(entries)) {
    const std::string extra = qualifier(entries[i]);
    if (!extra.empty()) entries[i].display_name += kDash + extra;
  }
  // Still the same (two copies of one family's style): the stable name decides.
  for (std::size_t i : shared_names(entries)) entries[i].display_name += " (" + readable_name(entries[i].name) + ")";
}

}  // namespace atelier
