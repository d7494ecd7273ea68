// Display names of installed weights (model_names.hpp): readable titles,
// metadata first, and styles of the same painting told apart.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "atelier/model_names.hpp"
#include "atelier/safetensors.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

// Key names that make the model store infer each fast style architecture.
const std::string kPytorchExamplesKey = "conv1.conv2d.weight";
const std::string kEngstromKey = "conv1.norm.scale";

void write_keyed_weights(const std::string& path, const std::string& key, const std::map<std::string, std::string>& metadata = {}) {
  fs::create_directories(fs::path(path).parent_path());
  write_safetensors(path, {{key, {DType::F32, {1}, {0.5f}}}}, metadata);
}

// Only `dir`: not $ATELIER_MODELS (ctest points it at ../shared) nor the user's own models.
std::vector<ModelStore::Entry> list_only(const std::string& dir) {
  testing::ScratchDir empty;
  const char* models = std::getenv("ATELIER_MODELS");
  const char* data_home = std::getenv("XDG_DATA_HOME");
  const std::string saved_models = models ? models : "", saved_data_home = data_home ? data_home : "";
  unsetenv("ATELIER_MODELS");
  setenv("XDG_DATA_HOME", empty.path().c_str(), 1);
  auto entries = ModelStore(dir).list();
  if (models) setenv("ATELIER_MODELS", saved_models.c_str(), 1);
  if (data_home) setenv("XDG_DATA_HOME", saved_data_home.c_str(), 1);
  else unsetenv("XDG_DATA_HOME");
  return entries;
}

std::map<std::string, ModelStore::Entry> listed(const std::string& dir) {
  std::map<std::string, ModelStore::Entry> by_name;
  for (const auto& entry : list_only(dir)) by_name[entry.name] = entry;
  return by_name;
}

TEST(ModelNames, FileNamesBecomeTitles) {
  EXPECT_EQ(readable_name("la_muse"), "La Muse");
  EXPECT_EQ(readable_name("rain_princess"), "Rain Princess");
  EXPECT_EQ(readable_name("the_bride-of_the_wind"), "The Bride of the Wind");
  EXPECT_EQ(readable_name("kandinsky_composition_vii"), "Kandinsky Composition VII");
  EXPECT_EQ(readable_name("vgg19-caffe-partial"), "VGG19 Caffe Partial");
  EXPECT_EQ(readable_name("__odd..name__"), "Odd Name");
  EXPECT_EQ(readable_name(""), "");
  EXPECT_EQ(family_name("engstrom"), "Engstrom");
  EXPECT_EQ(family_name("pytorch-examples"), "pytorch-examples");
}

TEST(ModelNames, SamePaintingIsToldApartByFamilyAndMetadataWins) {
  testing::ScratchDir scratch;
  const std::string dir = scratch.file("models");
  write_keyed_weights(dir + "/fast-style/engstrom/udnie.safetensors", kEngstromKey);
  write_keyed_weights(dir + "/fast-style/pytorch-examples/udnie.safetensors", kPytorchExamplesKey);
  write_keyed_weights(dir + "/fast-style/engstrom/la_muse.safetensors", kEngstromKey);
  write_keyed_weights(dir + "/kiss-v3.safetensors", kPytorchExamplesKey,
                {{kTitleKey, "The Kiss"}, {kArtistKey, "Gustav Klimt"}, {kFamilyKey, "atelier"}, {"style", "kiss"}});
  write_keyed_weights(dir + "/wave.safetensors", kEngstromKey, {{"style", "great_wave"}});
  const auto models = listed(dir);
  EXPECT_EQ(models.at("fast-style/engstrom/udnie").display_name, "Udnie \u2014 fast, Engstrom");
  EXPECT_EQ(models.at("fast-style/pytorch-examples/udnie").display_name, "Udnie \u2014 fast, pytorch-examples");
  EXPECT_EQ(models.at("fast-style/engstrom/la_muse").display_name, "La Muse");
  EXPECT_EQ(models.at("fast-style/engstrom/la_muse").family, "engstrom");
  const auto& kiss = models.at("kiss-v3");
  EXPECT_EQ(kiss.display_name, "The Kiss");
  EXPECT_EQ(kiss.artist, "Gustav Klimt");
  EXPECT_EQ(kiss.family, "atelier");
  EXPECT_EQ(models.at("wave").display_name, "Great Wave");  // the metadata "style" beats the file name
}

TEST(ModelNames, CopiesOfOneFamilysStyleStayDistinctWithoutSlashes) {
  testing::ScratchDir scratch;
  const std::string dir = scratch.file("models");
  write_keyed_weights(dir + "/mine/candy.safetensors", kPytorchExamplesKey);
  write_keyed_weights(dir + "/theirs/candy.safetensors", kPytorchExamplesKey);
  write_keyed_weights(dir + "/slash.safetensors", kPytorchExamplesKey, {{kTitleKey, "AC/DC"}});
  const auto models = listed(dir);
  const std::string mine = models.at("mine/candy").display_name, theirs = models.at("theirs/candy").display_name;
  EXPECT_NE(mine, theirs);
  EXPECT_EQ(mine.rfind("Candy \u2014 fast, pytorch-examples", 0), 0u) << mine;
  EXPECT_EQ(mine.find('/'), std::string::npos) << mine;
  EXPECT_EQ(models.at("slash").display_name, "AC-DC");
}

TEST(ModelNames, TheFourteenSharedStylesHaveUniqueReadableNames) {
  ATELIER_REQUIRE_SHARED(styles, "models/fast-style");
  std::set<std::string> names;
  int count = 0;
  for (const auto& entry : list_only(styles)) {
    if (!is_fast_style_architecture(entry.architecture)) continue;
    ++count;
    EXPECT_TRUE(names.insert(entry.display_name).second) << "shared name: " << entry.display_name;
    EXPECT_EQ(entry.display_name.find('/'), std::string::npos) << entry.display_name;
  }
  EXPECT_EQ(count, 14);
  EXPECT_TRUE(names.count("La Muse"));
  EXPECT_TRUE(names.count("Rain Princess \u2014 fast, Engstrom"));
  EXPECT_TRUE(names.count("Rain Princess \u2014 fast, pytorch-examples"));
}

}  // namespace
}  // namespace atelier
