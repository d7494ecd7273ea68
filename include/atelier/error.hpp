// Errors that reach the user. Every failure Atelier expects (bad input, bad
// weights, unwritable output) is an atelier::Error with a one-line message;
// the CLI prints it as "atelier: error: <message>" and exits non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace atelier {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// The first line of a message: errors reach the user as one line.
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace atelier
