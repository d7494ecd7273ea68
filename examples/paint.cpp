// A program that paints with Atelier's library: a feed-forward style, then a
// short Gatys optimisation of the same photo, both finished and saved.
//
//   paint_example PHOTO STYLE_PICTURE FAST_STYLE VGG_WEIGHTS OUT_DIR [SIDE]
//
// SIDE is the longest side of the pictures painted (default 256).
// The library's public API is atelier/atelier.hpp; nothing here sees torch.
#include <cstdlib>
#include <iostream>

#include "atelier/atelier.hpp"

int main(int argc, char** argv) {
  char* end = nullptr;
  const long side = argc == 7 ? std::strtol(argv[6], &end, 10) : 256;
  if ((argc != 6 && argc != 7) || (end && *end) || side < 16 || side > 4096) {
    std::cerr << "usage: paint_example PHOTO STYLE_PICTURE FAST_STYLE VGG_WEIGHTS OUT_DIR [SIDE]\n"
                 "  (libatelier " << atelier::version() << "; SIDE: 16..4096, default 256)\n";
    return 2;
  }
  const std::string photo_path = argv[1], style_path = argv[2], fast_style = argv[3], vgg = argv[4], out = argv[5];
  try {
    atelier::configure_runtime(0);
    const atelier::Image photo = atelier::resize_longest_side(atelier::load_image(photo_path), static_cast<int>(side));
    const atelier::Image style = atelier::load_image(style_path);

    // One pass of a trained style network.
    const atelier::FastStylePainter fast(fast_style);
    const cv::Mat fast_painted = fast.paint(photo.rgb);
    atelier::save_image(atelier::finish(fast_painted, photo, {}, {}), out + "/fast.png");

    // A few iterations of optimisation, reporting the loss as it falls.
    const atelier::GatysPainter gatys({vgg});
    atelier::GatysOptions options;
    options.iterations = 10;
    atelier::GatysCallbacks callbacks;
    callbacks.on_progress = [](const atelier::GatysProgress& step) {
      std::cout << "iteration " << step.iteration << " loss " << step.total << "\n";
    };
    const atelier::GatysResult result = gatys.paint(photo.rgb, {style.rgb}, options, callbacks);
    atelier::FinishOptions finishing;
    finishing.original_colors = true;
    atelier::save_image(atelier::finish(result.rgb, photo, style.rgb, finishing), out + "/gatys.png");
    std::cout << "wrote " << out << "/fast.png and " << out << "/gatys.png\n";
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "paint_example: " << atelier::first_line(error.what()) << "\n";
    return 1;
  }
}
