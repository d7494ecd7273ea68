// End to end tests of `atelier models list|fetch` and of the top-level
// command line. Downloads come from an httplib server on 127.0.0.1 only.
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "atelier/fetch.hpp"
#include "atelier/model_store.hpp"
#include "atelier/safetensors.hpp"
#include "test_support.hpp"
#include "tiny_vgg.hpp"

namespace fs = std::filesystem;

namespace atelier {
namespace {

using testing::CliResult;
using testing::ScratchDir;
using testing::lines_of;
using testing::read_all;
using testing::run_atelier;
using testing::write_all;

// A models directory holding a tiny full VGG19 (no metadata: the
// architecture is inferred from its keys) and a file that is not safetensors.
class CliModelsListTest : public ::testing::Test {
 protected:
  CliModelsListTest() {
    fs::create_directory(models_);
    testing::write_tiny_vgg_file(models_ + "/tiny.safetensors", "vgg19", -1, {});
    write_all(models_ + "/broken.safetensors", "not a safetensors file");
  }

  ScratchDir scratch_;
  const std::string models_ = scratch_.file("models");
};

// Text listing: both files, the broken one marked INVALID, the good one not.
TEST_F(CliModelsListTest, ListsValidAndInvalidWeights) {
  const CliResult run = run_atelier(scratch_, "models list --models-dir " + models_);
  ASSERT_EQ(run.code, 0) << run.err;
  std::string tiny_line, broken_line;
  for (const auto& line : lines_of(run.out)) {
    if (line.rfind("tiny  ", 0) == 0) tiny_line = line;
    if (line.rfind("broken  ", 0) == 0) broken_line = line;
  }
  ASSERT_NE(tiny_line, "") << run.out;
  ASSERT_NE(broken_line, "") << run.out;
  EXPECT_NE(tiny_line.find("vgg19"), std::string::npos) << tiny_line;
  EXPECT_EQ(tiny_line.find("INVALID"), std::string::npos) << tiny_line;
  EXPECT_NE(broken_line.find("INVALID"), std::string::npos) << broken_line;
}

// JSON listing: parses, names the search path, the inferred architecture
// and the broken file's problem.
TEST_F(CliModelsListTest, JsonListing) {
  const CliResult run = run_atelier(scratch_, "models list --json --models-dir " + models_);
  ASSERT_EQ(run.code, 0) << run.err;
  const nlohmann::json listing = nlohmann::json::parse(run.out);
  EXPECT_EQ(listing.at("search_path").at(0), models_);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& model : listing.at("models")) by_name[model.at("name").get<std::string>()] = model;
  ASSERT_EQ(by_name.count("tiny"), 1u) << run.out;
  ASSERT_EQ(by_name.count("broken"), 1u) << run.out;
  EXPECT_EQ(by_name["tiny"].at("architecture"), "vgg19");
  EXPECT_EQ(by_name["tiny"].at("problem"), "");
  EXPECT_EQ(by_name["tiny"].at("bytes"), fs::file_size(models_ + "/tiny.safetensors"));
  EXPECT_NE(by_name["broken"].at("problem"), "");
}

// The names people read: the text listing's second column and the JSON's
// display_name, title and family (model_names.hpp has the rules).
TEST_F(CliModelsListTest, ShowsDisplayNames) {
  for (const char* family : {"/fast-style/engstrom", "/fast-style/pytorch-examples"}) fs::create_directories(models_ + family);
  write_safetensors(models_ + "/fast-style/engstrom/rain_princess.safetensors", {{"conv1.norm.scale", {DType::F32, {1}, {1}}}});
  write_safetensors(models_ + "/fast-style/pytorch-examples/rain_princess.safetensors",
                    {{"conv1.conv2d.weight", {DType::F32, {1}, {1}}}});
  const CliResult text = run_atelier(scratch_, "models list --models-dir " + models_);
  ASSERT_EQ(text.code, 0) << text.err;
  std::string engstrom_line;
  for (const auto& line : lines_of(text.out))
    if (line.rfind("fast-style/engstrom/rain_princess  ", 0) == 0) engstrom_line = line;
  EXPECT_NE(engstrom_line.find("  Rain Princess \u2014 fast, Engstrom  "), std::string::npos) << text.out;
  const CliResult run = run_atelier(scratch_, "models list --json --models-dir " + models_);
  ASSERT_EQ(run.code, 0) << run.err;
  std::map<std::string, nlohmann::json> by_name;
  const nlohmann::json listing = nlohmann::json::parse(run.out);
  for (const auto& model : listing.at("models")) by_name[model.at("name")] = model;
  EXPECT_EQ(by_name["tiny"].at("display_name"), "Tiny");
  const auto& twin = by_name["fast-style/pytorch-examples/rain_princess"];
  EXPECT_EQ(twin.at("display_name"), "Rain Princess \u2014 fast, pytorch-examples");
  EXPECT_EQ(twin.at("title"), "Rain Princess");
  EXPECT_EQ(twin.at("family"), "pytorch-examples");
  EXPECT_EQ(by_name["fast-style/engstrom/rain_princess"].at("family_name"), "Engstrom");
}

// $ATELIER_MODELS (colon-separated) is part of the search path.
TEST_F(CliModelsListTest, SearchesAtelierModelsVariable) {
  const std::string elsewhere = scratch_.file("elsewhere");
  const CliResult run = run_atelier(scratch_, "models list --json", "ATELIER_MODELS=" + elsewhere + ":" + models_);
  ASSERT_EQ(run.code, 0) << run.err;
  const nlohmann::json listing = nlohmann::json::parse(run.out);
  const auto& path = listing.at("search_path");
  ASSERT_GE(path.size(), 2u) << run.out;
  EXPECT_EQ(path.at(0), elsewhere);
  EXPECT_EQ(path.at(1), models_);
  bool found = false;
  for (const auto& model : listing.at("models")) found |= model.at("name") == "tiny";
  EXPECT_TRUE(found) << run.out;
}

// Serves one generated file at /weights on 127.0.0.1 and counts requests.
class LoopbackServer {
 public:
  LoopbackServer() {
    std::mt19937 rng(11);
    body_.resize(200000);
    for (char& c : body_) c = static_cast<char>(rng() & 0xff);
    server_.Get("/weights", [this](const httplib::Request&, httplib::Response& response) {
      ++requests_;
      response.set_content(body_, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the loop runs: wait for it, or the destructor could hang.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~LoopbackServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/weights"; }
  const std::string& body() const { return body_; }
  int requests() const { return requests_; }

 private:
  std::string body_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
};

class CliModelsFetchTest : public ::testing::Test {
 protected:
  CliModelsFetchTest() {
    write_all(scratch_.file("reference.bin"), server_.body());
    body_sha_ = sha256_file(scratch_.file("reference.bin"));
  }

  CliResult fetch(const std::string& sha256) const {
    return run_atelier(scratch_, "models fetch mine --quiet --url " + server_.url() + " --sha256 " + sha256 +
                                     " --models-dir " + models_);
  }

  LoopbackServer server_;
  ScratchDir scratch_;
  const std::string models_ = scratch_.file("models");  // created by fetch
  const std::string installed_ = models_ + "/mine.safetensors";
  std::string body_sha_;
};

// Downloads, verifies and installs as <models-dir>/<name>.safetensors.
TEST_F(CliModelsFetchTest, InstallsVerifiedFile) {
  const CliResult run = fetch(body_sha_);
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.out + run.err, "") << "--quiet should print nothing";
  EXPECT_EQ(read_all(installed_), server_.body());
  EXPECT_FALSE(fs::exists(installed_ + ".part"));
}

// A wrong sha256: one error line, nothing installed, no part file left.
TEST_F(CliModelsFetchTest, ShaMismatchInstallsNothing) {
  const CliResult run = fetch(std::string(64, '0'));
  EXPECT_EQ(run.code, 1);
  const auto lines = lines_of(run.err);
  ASSERT_EQ(lines.size(), 1u) << run.err;
  EXPECT_EQ(lines[0].rfind("atelier: error: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("sha256"), std::string::npos) << lines[0];
  EXPECT_EQ(server_.requests(), 1);
  EXPECT_FALSE(fs::exists(installed_));
  EXPECT_FALSE(fs::exists(installed_ + ".part"));
}

// Already installed: a second fetch checks the file against the hash
// instead of downloading, and refuses a file that does not match.
TEST_F(CliModelsFetchTest, SecondFetchVerifiesTheInstalledFile) {
  ASSERT_EQ(fetch(body_sha_).code, 0);
  const CliResult again = fetch(body_sha_);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out + again.err, "") << "--quiet should print nothing";
  EXPECT_EQ(server_.requests(), 1);
  const CliResult other = fetch(std::string(64, 'a'));
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.err.find("exists but its sha256 differs"), std::string::npos) << other.err;
  EXPECT_EQ(read_all(installed_), server_.body());
}

// A name becomes a file name: path separators are refused.
TEST_F(CliModelsFetchTest, NameWithPathIsRefused) {
  const CliResult run = run_atelier(scratch_, "models fetch ../escape --quiet --url " + server_.url() + " --sha256 " +
                                                  body_sha_ + " --models-dir " + models_);
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("must use only letters"), std::string::npos) << run.err;
  EXPECT_EQ(server_.requests(), 0);
  EXPECT_FALSE(fs::exists(scratch_.file("escape.safetensors")));
}

// A name outside the catalogue without --url: the known names are listed.
TEST(CliModelsFetch, UnknownCatalogueName) {
  ScratchDir scratch;
  const std::string models = scratch.file("models");
  const CliResult run = run_atelier(scratch, "models fetch nosuch --quiet --models-dir " + models);
  EXPECT_EQ(run.code, 1);
  const auto lines = lines_of(run.err);
  ASSERT_EQ(lines.size(), 1u) << run.err;
  EXPECT_EQ(lines[0].rfind("atelier: error: ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("\"nosuch\""), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("vgg19"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("vgg16"), std::string::npos) << lines[0];
  EXPECT_FALSE(fs::exists(models + "/nosuch.safetensors"));
}

// --- models fetch magenta: two TFLite files, verified, then imported. ---

// Serves the shared Magenta source files at /mirror/<file name>; `corrupt`
// flips one byte of the transfer file.
class MirrorServer {
 public:
  MirrorServer(const std::string& folder, bool corrupt) {
    for (const auto& file : fs::directory_iterator(folder)) files_[file.path().filename().string()] = read_all(file.path());
    if (corrupt)
      for (auto& [name, body] : files_)
        if (name.find("transfer") != std::string::npos) body[body.size() / 2] ^= 1;
    server_.Get(R"(/mirror/(.+))", [this](const httplib::Request& request, httplib::Response& response) {
      const auto found = files_.find(request.matches[1]);
      if (found == files_.end()) return void(response.status = 404);
      response.set_content(found->second, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~MirrorServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mirror/"; }

 private:
  std::map<std::string, std::string> files_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// The catalogue's two files come from the mirror, pass their sha256 and are
// imported to exactly the shared safetensors' tensors, under the names the
// painter resolves; a second fetch downloads nothing.
TEST(CliModelsFetch, MagentaIsDownloadedVerifiedAndImported) {
  ATELIER_REQUIRE_SHARED(source, "models/magenta-arbitrary/source");
  ScratchDir scratch;
  const std::string models = scratch.file("models");
  MirrorServer mirror(source, /*corrupt=*/false);
  const std::string command = "models fetch magenta --json --mirror " + mirror.url() + " --models-dir " + models;
  const CliResult run = run_atelier(scratch, command);
  ASSERT_EQ(run.code, 0) << run.err;
  for (const char* name : {"style_predict", "style_transfer"}) {
    const std::string mine = models + "/magenta-arbitrary/" + name + ".safetensors";
    const SafetensorsFile ours = SafetensorsFile::open(mine);
    const SafetensorsFile theirs = SafetensorsFile::open(testing::shared_path("models/magenta-arbitrary/") + name + ".safetensors");
    ASSERT_EQ(ours.names(), theirs.names()) << name;
    for (const std::string& tensor : theirs.names())
      EXPECT_EQ(ours.tensor(tensor).to_float(), theirs.tensor(tensor).to_float()) << name << " " << tensor;
  }
  const CliResult again = run_atelier(scratch, command);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out.find("\"fetching"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("already installed"), std::string::npos) << again.out;
}

// A file that fails its sha256 is one line of error, and nothing is
// installed under the name the painter resolves.
TEST(CliModelsFetch, MagentaWithAWrongFileInstallsNothingOfIt) {
  ATELIER_REQUIRE_SHARED(source, "models/magenta-arbitrary/source");
  ScratchDir scratch;
  const std::string models = scratch.file("models");
  MirrorServer mirror(source, /*corrupt=*/true);
  const CliResult run =
      run_atelier(scratch, "models fetch magenta --quiet --mirror " + mirror.url() + " --models-dir " + models);
  EXPECT_EQ(run.code, 1);
  const auto lines = lines_of(run.err);
  ASSERT_EQ(lines.size(), 1u) << run.err;
  EXPECT_NE(lines[0].find("sha256"), std::string::npos) << lines[0];
  EXPECT_FALSE(fs::exists(models + "/magenta-arbitrary/style_transfer.safetensors"));
  for (const auto& file : fs::recursive_directory_iterator(models))
    EXPECT_EQ(file.path().string().find("transfer"), std::string::npos) << file.path();
}

// --- models import of Magenta's TFLite files. ---

// The fp16 transfer file becomes the shared safetensors' tensors; a picture
// renamed .tflite is one line of error and no output.
TEST(CliModelsImport, MagentaTfliteFile) {
  ATELIER_REQUIRE_SHARED(
      source, "models/magenta-arbitrary/source/magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite");
  ATELIER_REQUIRE_SHARED(reference, "models/magenta-arbitrary/style_transfer.safetensors");
  ScratchDir scratch;
  const std::string output = scratch.file("transfer.safetensors");
  const CliResult run = run_atelier(scratch, "models import " + source + " -o " + output);
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.err.find("magenta-transfer"), std::string::npos) << run.err;
  const SafetensorsFile mine = SafetensorsFile::open(output), theirs = SafetensorsFile::open(reference);
  ASSERT_EQ(mine.names(), theirs.names());
  for (const std::string& name : theirs.names())
    EXPECT_EQ(mine.tensor(name).to_float(), theirs.tensor(name).to_float()) << name;  // fp16 widening is exact

  write_all(scratch.file("photo.tflite"), read_all(testing::shared_path("images/content/tubingen.jpg")));
  const CliResult bad = run_atelier(scratch, "models import " + scratch.file("photo.tflite") + " -o " +
                                                 scratch.file("bad.safetensors"));
  EXPECT_EQ(bad.code, 1);
  const auto lines = lines_of(bad.err);
  ASSERT_EQ(lines.size(), 1u) << bad.err;
  EXPECT_NE(lines[0].find("photo.tflite: not a TFLite model"), std::string::npos) << lines[0];
  EXPECT_FALSE(fs::exists(scratch.file("bad.safetensors")));
}

// --- The top-level command line. ---

// A subcommand missing its required options is a usage error.
TEST(CliUsage, StylizeWithoutArgumentsIsAUsageError) {
  ScratchDir scratch;
  const CliResult run = run_atelier(scratch, "stylize");
  EXPECT_NE(run.code, 0);
  EXPECT_NE(run.err.find("--content"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("required"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("--help"), std::string::npos) << run.err;
}

TEST(CliUsage, VersionFlagPrintsVersion) {
  ScratchDir scratch;
  const CliResult run = run_atelier(scratch, "--version");
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_TRUE(std::regex_search(run.out, std::regex(R"(^atelier \d+\.\d+\.\d+)"))) << run.out;
}

// Issue 13: every numeric flag of every command has a bound that its help
// shows ("INT:[16..16384]" or a set "INT:{8,16}"), checked by the one shared
// validator (cli/common_flags.hpp).
TEST(CliUsage, EveryNumericFlagShowsItsBound) {
  ScratchDir scratch;
  const std::vector<std::string> commands = {"stylize",     "stylize-video", "models list", "models fetch",
                                             "models import", "train-style", "data prepare", "data stats",
                                             "gan train",   "gan sample",    "gan walk",    "gan eval",
                                             "serve",       "style-vector",  "train-arbitrary", "video-metrics"};
  const std::regex numeric(R"(^\s+(?:-\w,)?(--[\w-]+)(?:,-\w)? (INT|UINT|FLOAT)(\S*))");
  int flags = 0;
  for (const std::string& command : commands) {
    const CliResult help = run_atelier(scratch, command + " --help");
    ASSERT_EQ(help.code, 0) << command << "\n" << help.err;
    for (const std::string& line : testing::lines_of(help.out)) {
      std::smatch match;
      if (!std::regex_search(line, match, numeric)) continue;
      ++flags;
      const std::string bound = match[3];
      EXPECT_TRUE(bound.rfind(":[", 0) == 0 || bound.rfind(":{", 0) == 0)
          << command << " " << match[1] << " has no bound in its help: " << line;
    }
  }
  EXPECT_GE(flags, 60);  // the walk found the flags
}

// Issue 13: numbers without bounds. Text is "not a number"; out-of-range
// values name the range; lists refuse empty entries; all before any work.
TEST(CliUsage, NumbersOutOfBoundsAreRefusedSayingWhy) {
  ScratchDir scratch;
  const std::string stylize = "stylize -c c.png -s s.png -o o.png ";
  const std::vector<std::pair<std::string, std::string>> usage = {
      {stylize + "--size abc", "--size: \"abc\" is not a number"},
      {stylize + "--threads 99999999", "--threads: 99999999 is out of range [0..256]"},
      {stylize + "--threads -1", "--threads: -1 is out of range [0..256]"},
      {stylize + "--style-scale 1000", "--style-scale: 1000 is out of range [0.01..8]"},
      {stylize + "--iterations 2.5", "--iterations: \"2.5\" is not a whole number"},
      {stylize + "--content-weight nan", "--content-weight: \"nan\" is not a finite number"},
      {stylize + "--seed -1", "--seed: -1 is out of range"},
      {stylize + "--pyramid 17", "--pyramid: 17 is out of range [0..16]"},
      {"stylize-video in.mp4 -o o.mp4 --method gatys -s s.png --pyramid -1", "--pyramid: -1 is out of range [0..16]"},
      {"gan sample -m g --grid g.png --truncation 1e-30", "--truncation: 1e-30 is too small"},
      {"gan sample -m g --grid g.png --truncation nan", "--truncation: \"nan\" is not a finite number"},
      {"gan sample -m g --grid g.png --truncation -1", "--truncation: -1 is out of range [0..100]"},
      {"gan sample -m g --grid g.png -n 0", "--count: 0 is out of range"},
      {"data prepare in -o out --val 2", "--val: 2 is out of range [0..0.9]"},
      {"train-style -s s -d d -o o --threads x", "--threads: \"x\" is not a number"},
  };
  for (const auto& [arguments, needle] : usage) {
    const CliResult run = run_atelier(scratch, arguments);
    EXPECT_NE(run.code, 0) << arguments;
    EXPECT_NE(run.err.find(needle), std::string::npos) << arguments << "\n" << run.err;
  }
  // Lists are checked by the same rules (an atelier error, exit 1).
  testing::write_tiny_vgg_file(scratch.file("w.safetensors"), "vgg19", 3, {});
  cv::Mat pixels(8, 8, CV_8UC3, cv::Scalar(40, 90, 200));
  cv::imwrite(scratch.file("c.png"), pixels);
  const std::string real = "stylize -c " + scratch.file("c.png") + " -s " + scratch.file("c.png") + " -o " +
                           scratch.file("o.png") + " --weights " + scratch.file("w.safetensors") + " -n 1 --threads 1 ";
  const std::vector<std::pair<std::string, std::string>> lists = {
      {real + "--scales 99999", "--scales: 99999 is out of range [16..16384]"},
      {real + "--scales ,", "--scales: \"\" is not a number"},
      {real + "--style-blend ,,", "--style-blend: \"\" is not a number"},
      {real + "--style-blend 1,x", "--style-blend: \"x\" is not a number"},
  };
  for (const auto& [arguments, needle] : lists) {
    const CliResult run = run_atelier(scratch, arguments);
    EXPECT_EQ(run.code, 1) << arguments;
    EXPECT_NE(run.err.find("atelier: error: " + needle), std::string::npos) << arguments << "\n" << run.err;
  }
  EXPECT_FALSE(fs::exists(scratch.file("o.png")));
}

}  // namespace
}  // namespace atelier
