#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>

#include "atelier/error.hpp"
#include "atelier/model_store.hpp"
#include "atelier/safetensors.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::ScratchDir;

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const std::optional<std::string>& value) {
    if (value) {
      setenv(name_, value->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  const char* name_;
  std::optional<std::string> old_;
};

// A tiny weights file holding the given (empty) tensors.
void write_weights(const std::string& path, const std::vector<std::string>& names,
                   const std::map<std::string, std::string>& metadata = {}) {
  fs::create_directories(fs::path(path).parent_path());
  std::map<std::string, TensorToWrite> tensors;
  for (const std::string& name : names) tensors[name] = {DType::F32, {1}, {0.5f}};
  write_safetensors(path, tensors, metadata);
}

std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an atelier::Error";
  return "";
}

// Three search-path directories in a scratch dir, wired through the flag,
// $ATELIER_MODELS and $XDG_DATA_HOME.
class ModelStoreTest : public ::testing::Test {
 protected:
  ScratchDir scratch;
  const std::string flag_dir = scratch.file("flag");
  const std::string env_dir = scratch.file("env");
  const std::string user_dir = scratch.file("xdg") + "/atelier/models";
  ScopedEnv models_env{"ATELIER_MODELS", env_dir};
  ScopedEnv xdg_env{"XDG_DATA_HOME", scratch.file("xdg")};
};

TEST_F(ModelStoreTest, SearchPathIsFlagThenEnvThenUserDir) {
  ScopedEnv two_dirs("ATELIER_MODELS", env_dir + "::" + scratch.file("env2"));
  const ModelStore store(flag_dir);
  EXPECT_EQ(store.search_path(), (std::vector<std::string>{flag_dir, env_dir, scratch.file("env2"), user_dir}));
  EXPECT_EQ(store.install_dir(), flag_dir);
  EXPECT_EQ(ModelStore().install_dir(), env_dir);
}

TEST_F(ModelStoreTest, UserDirFallsBackToHome) {
  ScopedEnv no_xdg("XDG_DATA_HOME", std::nullopt);
  ScopedEnv home("HOME", scratch.path());
  EXPECT_EQ(ModelStore::user_data_dir(), scratch.path() + "/.local/share/atelier/models");
  ScopedEnv no_models("ATELIER_MODELS", std::nullopt);
  EXPECT_EQ(ModelStore().install_dir(), scratch.path() + "/.local/share/atelier/models");
}

TEST_F(ModelStoreTest, ResolvesInSearchPathOrder) {
  write_weights(user_dir + "/vgg19.safetensors", {"x"});
  EXPECT_EQ(ModelStore(flag_dir).resolve("vgg19"), user_dir + "/vgg19.safetensors");
  write_weights(env_dir + "/vgg19.safetensors", {"x"});
  EXPECT_EQ(ModelStore(flag_dir).resolve("vgg19"), env_dir + "/vgg19.safetensors");
  write_weights(flag_dir + "/vgg19.safetensors", {"x"});
  EXPECT_EQ(ModelStore(flag_dir).resolve("vgg19"), flag_dir + "/vgg19.safetensors");
  EXPECT_EQ(ModelStore().resolve("vgg19"), env_dir + "/vgg19.safetensors");
}

TEST_F(ModelStoreTest, PrefixMatchTakesFirstSortedAndExactNameWins) {
  write_weights(env_dir + "/vgg19-zeta.safetensors", {"x"});
  write_weights(env_dir + "/vgg19-caffe-partial.safetensors", {"x"});
  write_weights(env_dir + "/vgg190.safetensors", {"x"});  // not "vgg19-*": never a match
  write_weights(user_dir + "/vgg19.safetensors", {"x"});
  const ModelStore store;
  // Directory order first: env's prefix match beats the user dir's exact name.
  EXPECT_EQ(store.resolve("vgg19"), env_dir + "/vgg19-caffe-partial.safetensors");
  EXPECT_EQ(store.resolve("vgg19-caffe-partial"), env_dir + "/vgg19-caffe-partial.safetensors");
  EXPECT_EQ(store.resolve("vgg19-zeta"), env_dir + "/vgg19-zeta.safetensors");
  write_weights(env_dir + "/vgg19.safetensors", {"x"});
  EXPECT_EQ(ModelStore().resolve("vgg19"), env_dir + "/vgg19.safetensors");
}

TEST_F(ModelStoreTest, NamesReachIntoSubfoldersAndAmbiguityIsAnError) {
  const std::string dir = scratch.file("styles");
  write_weights(dir + "/fast/pytorch-examples/candy.safetensors", {"x"});
  write_weights(dir + "/fast/pytorch-examples/udnie.safetensors", {"x"});
  write_weights(dir + "/fast/engstrom/udnie.safetensors", {"x"});
  const ModelStore store(dir);
  EXPECT_EQ(store.resolve("candy"), dir + "/fast/pytorch-examples/candy.safetensors");
  EXPECT_EQ(store.resolve("engstrom/udnie"), dir + "/fast/engstrom/udnie.safetensors");
  EXPECT_EQ(store.resolve("fast/engstrom/udnie"), dir + "/fast/engstrom/udnie.safetensors");
  const std::string ambiguous = error_message([&] { store.resolve("udnie"); });
  EXPECT_NE(ambiguous.find("ambiguous"), std::string::npos) << ambiguous;
  EXPECT_NE(ambiguous.find("fast/engstrom/udnie, fast/pytorch-examples/udnie"), std::string::npos) << ambiguous;
  EXPECT_THROW(store.resolve("engstrom/candy"), Error);
  const std::string misspelt = error_message([&] { store.resolve("candi"); });
  EXPECT_NE(misspelt.find("did you mean: fast/pytorch-examples/candy"), std::string::npos) << misspelt;
}

// A models folder of symlinks (as the studio's browser test makes) lists
// each file under the link's own name, not its target's path.
TEST_F(ModelStoreTest, SymlinkedFilesKeepTheirOwnNames) {
  write_weights(scratch.file("elsewhere/deep/candy.safetensors"), {"x"});
  const std::string dir = scratch.file("links");
  std::filesystem::create_directories(dir);
  std::filesystem::create_symlink(scratch.file("elsewhere/deep/candy.safetensors"), dir + "/starry.safetensors");
  const auto entries = ModelStore(dir).list();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.front().name, "starry");
  EXPECT_EQ(ModelStore(dir).resolve("starry"), dir + "/starry.safetensors");
}

TEST_F(ModelStoreTest, PathsAreTakenAsIs) {
  const std::string path = scratch.file("elsewhere/my.weights.safetensors");
  write_weights(path, {"x"});
  EXPECT_EQ(ModelStore().resolve(path), path);
  const std::string missing = error_message([&] { ModelStore().resolve(scratch.file("nope/x.safetensors")); });
  EXPECT_NE(missing.find("not found"), std::string::npos) << missing;
  EXPECT_NE(missing.find(scratch.file("nope/x.safetensors")), std::string::npos) << missing;
  // A bare file name ending in .safetensors is a path too, not a model name.
  EXPECT_THROW(ModelStore().resolve("vgg19.safetensors"), Error);
}

TEST_F(ModelStoreTest, NotFoundListsTheDirectoriesAndSuggestsFetch) {
  const std::string message = error_message([&] { ModelStore(flag_dir).resolve("vgg19"); });
  EXPECT_EQ(message, "no weights named \"vgg19\" in: " + flag_dir + ", " + env_dir + ", " + user_dir +
                         " (try: atelier models fetch vgg19)");
  const std::string unknown = error_message([&] { ModelStore().resolve("resnet"); });
  EXPECT_NE(unknown.find("no weights named \"resnet\""), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("vgg19"), std::string::npos) << unknown;  // names what fetch can get
}

TEST_F(ModelStoreTest, ListReportsArchitecturesProblemsAndShadowing) {
  write_weights(flag_dir + "/a-vgg16.safetensors", {"features.0.weight", "features.17.weight"});
  write_weights(flag_dir + "/b-vgg19.safetensors", {"features.0.weight", "features.16.weight"},
                {{"preprocess", "caffe"}});
  write_weights(flag_dir + "/c-partial.safetensors", {"features.0.weight"});
  write_weights(flag_dir + "/d-tagged.safetensors", {"conv1.weight"}, {{"architecture", "resnet50"}});
  write_weights(env_dir + "/a-vgg16.safetensors", {"other"});  // shadowed by the flag dir's copy
  write_weights(env_dir + "/e-other.safetensors", {"conv1.weight"});
  fs::create_directories(user_dir);
  std::ofstream(user_dir + "/f-broken.safetensors") << "garbage!";
  std::ofstream(user_dir + "/notes.txt") << "not weights";

  const std::vector<ModelStore::Entry> entries = ModelStore(flag_dir).list();
  ASSERT_EQ(entries.size(), 6u);
  std::map<std::string, ModelStore::Entry> by_name;
  for (const auto& entry : entries) by_name[entry.name] = entry;
  EXPECT_EQ(by_name["a-vgg16"].architecture, "vgg16");
  EXPECT_EQ(by_name["a-vgg16"].path, flag_dir + "/a-vgg16.safetensors");
  EXPECT_EQ(by_name["b-vgg19"].architecture, "vgg19");
  EXPECT_EQ(by_name["b-vgg19"].preprocess, "caffe");
  EXPECT_EQ(by_name["c-partial"].architecture, "vgg (partial)");
  EXPECT_EQ(by_name["d-tagged"].architecture, "resnet50");
  EXPECT_EQ(by_name["e-other"].architecture, "");
  EXPECT_EQ(by_name["e-other"].bytes, fs::file_size(env_dir + "/e-other.safetensors"));
  EXPECT_TRUE(by_name["e-other"].problem.empty());
  EXPECT_NE(by_name["f-broken"].problem.find("header length"), std::string::npos) << by_name["f-broken"].problem;
  EXPECT_EQ(by_name["f-broken"].bytes, 8u);
}

TEST_F(ModelStoreTest, RealPartialVgg19ResolvesByPrefix) {
  ATELIER_REQUIRE_SHARED(path, "models/vgg19-caffe-partial.safetensors");
  const std::string models = fs::path(path).parent_path().string();
  ScopedEnv env("ATELIER_MODELS", models);
  const ModelStore store;
  EXPECT_EQ(store.resolve("vgg19-caffe-partial"), path);
  EXPECT_EQ(store.resolve("vgg19"), path);
  bool listed = false;
  for (const auto& entry : store.list()) {
    if (entry.name != "vgg19-caffe-partial") continue;
    listed = true;
    EXPECT_EQ(entry.architecture, "vgg19");
    EXPECT_EQ(entry.preprocess, "caffe");
    EXPECT_TRUE(entry.problem.empty()) << entry.problem;
  }
  EXPECT_TRUE(listed);
}

TEST(ModelCatalog, ListsTorchvisionVggWeightsWithHashes) {
  for (const char* name : {"vgg19", "vgg16"}) {
    const auto entries = catalog_entries(name);
    ASSERT_EQ(entries.size(), 1u);
    const CatalogEntry& entry = entries[0];
    EXPECT_EQ(entry.file_name, std::string(name) + ".safetensors");
    EXPECT_EQ(entry.url.rfind("https://huggingface.co/timm/" + std::string(name) + ".tv_in1k/", 0), 0u) << entry.url;
    EXPECT_EQ(entry.sha256.size(), 64u);
    EXPECT_EQ(entry.sha256.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(entry.imported_as, "");
  }
  const std::string message = error_message([] { catalog_entries("alexnet"); });
  EXPECT_NE(message.find("alexnet"), std::string::npos);
  EXPECT_NE(message.find("vgg19, vgg16, magenta)"), std::string::npos) << message;
}

// Magenta is two TFLite files from TensorFlow's folder, each imported into
// the name the arbitrary painter resolves.
TEST(ModelCatalog, MagentaIsTwoImportedTfliteFiles) {
  const auto entries = catalog_entries("magenta");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].imported_as, "magenta-arbitrary/style_predict");
  EXPECT_EQ(entries[1].imported_as, "magenta-arbitrary/style_transfer");
  for (const CatalogEntry& entry : entries) {
    EXPECT_EQ(entry.url.rfind("https://storage.googleapis.com/download.tensorflow.org/models/tflite/", 0), 0u);
    EXPECT_EQ(entry.file_name.rfind("magenta-arbitrary/source/", 0), 0u) << entry.file_name;
    EXPECT_EQ(entry.url.substr(entry.url.rfind('/') + 1), entry.file_name.substr(entry.file_name.rfind('/') + 1));
    EXPECT_EQ(entry.sha256.size(), 64u);
  }
  EXPECT_EQ(catalog_names(), (std::vector<std::string>{"vgg19", "vgg16", "magenta"}));
}

// The sha256 values are those the shared README gives for the files beside
// it: checked against the files themselves.
TEST(ModelCatalog, MagentaHashesMatchTheSharedSourceFiles) {
  ATELIER_REQUIRE_SHARED(source, "models/magenta-arbitrary/source");
  for (const CatalogEntry& entry : catalog_entries("magenta")) {
    const std::string path = source + "/" + entry.url.substr(entry.url.rfind('/') + 1);
    EXPECT_EQ(sha256_file(path), entry.sha256) << path;
    EXPECT_EQ(std::filesystem::file_size(path), entry.bytes) << path;
  }
}

}  // namespace
}  // namespace atelier
