// The AdaIN networks of a command (`stylize --method adain`,
// `stylize-video --method adain`): the flags, declared once, and the
// painter they load. Defined in cmd_adain.cpp.
#pragma once
#include <string>

#include "atelier/adain_style.hpp"

namespace CLI {
class App;
}

namespace atelier::cli {

struct AdainFlags {
  std::string encoder = kAdainEncoderName;  // names in the model search path, or files
  std::string decoder = kAdainDecoderName;
};
void add_adain_network_flags(CLI::App* command, AdainFlags* flags);

// The encoder and decoder from the model search path; a missing one is a
// one-line error that says how to import or train it.
AdainPainter load_adain(const std::string& models_dir, const AdainFlags& flags, const std::string& device);

}  // namespace atelier::cli
