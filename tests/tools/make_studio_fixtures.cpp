// Writes what the studio's browser and load tests serve when ../shared is
// absent: DIR/models (a tiny random VGG19, random fast styles and random
// Magenta networks of the real layout) and
// DIR/photo.png, DIR/painting.png.
//   make_studio_fixtures DIR
#include <iostream>

#include "atelier/atomic_file.hpp"
#include "random_magenta_network.hpp"
#include "studio_fixtures.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_studio_fixtures DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  atelier::testing::write_studio_models(dir + "/models", 3);
  atelier::testing::write_random_magenta_models(dir + "/models", 21);
  atelier::write_file_atomically(dir + "/photo.png", atelier::testing::picture_png(320, 240));
  atelier::write_file_atomically(dir + "/painting.png", atelier::testing::picture_png(256, 256, 5));
  return 0;
}
