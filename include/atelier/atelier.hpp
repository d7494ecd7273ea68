// Atelier's public API in one include, torch-free: a program that paints
// needs nothing else. Link the CMake target `atelier` (Atelier::atelier once
// installed).
//
//   #include "atelier/atelier.hpp"
//
//   atelier::configure_runtime(0);                       // all cores
//   atelier::Image photo = atelier::load_image("photo.jpg");
//   atelier::ModelStore store;                           // --models-dir, $ATELIER_MODELS, ~/.local/share
//   atelier::FastStylePainter candy(store.resolve("candy"));
//   atelier::FinishOptions finishing;
//   finishing.strength = 0.8;                            // a little of the photo shows through
//   atelier::save_image(atelier::finish(candy.paint(photo.rgb), photo, {}, finishing), "candy.png");
//
//   atelier::GatysPainter gatys({store.resolve("vgg19")});
//   atelier::GatysOptions options;                       // every default in one place
//   atelier::GatysResult result = gatys.paint(photo.rgb, {atelier::load_image("starry.jpg").rgb}, options);
//
// What each header holds:
//   image.hpp          load, decode, resize, save pictures (atomic writes)
//   painters.hpp       GatysPainter, FastStylePainter: each method, loaded once
//   gatys_options.hpp  the options, progress, callbacks and result of an optimisation
//   finish.hpp         strength, original colours, post steps, alpha: once for every method
//   postprocess.hpp    the post steps themselves (colour transfer, detail, denoise)
//   model_store.hpp    where weights live and how names resolve
//   runtime.hpp        precision, threads, device
//   tiling.hpp         how a large picture is split to fit a memory budget
//   memory_size.hpp    "4G" and what this machine has free
//   error.hpp          atelier::Error, the one-line errors users can cause
#pragma once

#include "atelier/error.hpp"
#include "atelier/finish.hpp"
#include "atelier/gatys_options.hpp"
#include "atelier/image.hpp"
#include "atelier/memory_size.hpp"
#include "atelier/model_store.hpp"
#include "atelier/painters.hpp"
#include "atelier/postprocess.hpp"
#include "atelier/runtime.hpp"
#include "atelier/tiling.hpp"
#include "atelier/version.hpp"
