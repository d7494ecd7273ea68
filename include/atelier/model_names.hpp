// The names people read for installed weights, written once for
// `atelier models list` and the studio (GET /api/v1/models). Torch-free.
//
// A style's title is its file's metadata "title", else its metadata "style"
// or file name made readable ("la_muse" -> "La Muse"). Titles that several
// files share are told apart by kind and family ("Udnie — fast, Engstrom"),
// then, if still shared, by their stable name. The stable name (the path
// below the models directory) stays the id.
#pragma once
#include <string>
#include <vector>

#include "atelier/model_store.hpp"

namespace atelier {

// Metadata keys Atelier writes into the weights it trains and imports.
inline constexpr const char* kTitleKey = "title";
inline constexpr const char* kArtistKey = "artist";
inline constexpr const char* kFamilyKey = "family";

// "la_muse" -> "La Muse", "the-starry_night" -> "The Starry Night",
// "vgg19-caffe-partial" -> "VGG19 Caffe Partial".
std::string readable_name(const std::string& raw);

// A family as people read it: "engstrom" -> "Engstrom", while a project's
// own spelling is kept ("pytorch-examples").
std::string family_name(const std::string& family);

// True for the feed-forward style networks the studio offers as styles.
bool is_fast_style_architecture(const std::string& architecture);

// Sets every entry's display_name, unique among `entries` and free of '/'.
void assign_display_names(std::vector<ModelStore::Entry>& entries);

}  // namespace atelier
