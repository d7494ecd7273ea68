// POST /jobs: from multipart fields to a validated job. Every client value is
// checked here, before anything is queued or written.
#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "atelier/image.hpp"
#include "atelier/regions.hpp"
#include "atelier/studio_server.hpp"

namespace atelier::studio {
namespace {

const std::set<std::string> kSettingNames = {"method", "model", "size", "strength", "iterations", "keep_colors",
                                             "precision", "style_blend", "feather"};
// Magenta's and AdaIN's smallest style picture a side (style_picture_input and AdainPainter refuse less).
constexpr int kMinOnePassStyleSide = 16;
// A blend weight's bounds: only their ratios matter, so this is no real limit.
constexpr double kMaxBlendWeight = 1000;
// Colour regions of one mask, and their edges' softness in pixels (a Gaussian's sigma: larger is slow).
constexpr int kMaxRegions = 8;
constexpr double kMaxFeather = 64;

// A client's text as error messages echo it: printable ASCII, short.
std::string shown(const std::string& text) {
  std::string out;
  for (char c : text.substr(0, 40)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return text.size() > 40 ? out + "..." : out;
}

// Decoding a large upload takes a few hundred MB for a moment: at most two
// at a time (this machine has two cores anyway). Held for one decode.
class DecodeSlot {
 public:
  DecodeSlot() {
    std::unique_lock<std::mutex> lock(mutex_);
    free_.wait(lock, [] { return in_use_ < 2; });
    ++in_use_;
  }
  ~DecodeSlot() {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_use_;
    free_.notify_one();
  }
  DecodeSlot(const DecodeSlot&) = delete;
  DecodeSlot& operator=(const DecodeSlot&) = delete;

 private:
  static inline std::mutex mutex_;
  static inline std::condition_variable free_;
  static inline int in_use_ = 0;
};

// An uploaded picture's size from its header, or a Refusal saying why it is not one.
ImageSize check_header(const std::string& field, const std::vector<unsigned char>& data, std::int64_t max_pixels) {
  if (data.empty()) throw Refusal(400, field + ": the file is empty");
  if (sniff_image_format(data).empty())
    throw Refusal(415, field + ": not a picture (expected JPEG, PNG, WebP, TIFF or BMP)");
  ImageSize size;
  try {
    size = read_image_size(data, field);
  } catch (const Error& error) {
    throw Refusal(415, first_line(error.what()));
  }
  if (max_pixels > 0 && std::int64_t{size.width} * size.height > max_pixels)
    throw Refusal(413, field + ": " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                           " is more pixels than the studio accepts (" + std::to_string(max_pixels) + ")");
  return size;
}

Image decode_checked(const std::string& field, const std::vector<unsigned char>& data, std::int64_t max_pixels) {
  DecodeSlot slot;
  try {
    return decode_image(data, field, LoadOptions{max_pixels});
  } catch (const Error& error) {
    throw Refusal(415, first_line(error.what()));
  } catch (const std::exception& error) {  // a decoder's own exception: still not a readable picture
    throw Refusal(415, field + ": cannot be decoded (" + first_line(error.what()) + ")");
  }
}

// Width and height of an uploaded picture, after checking that it decodes.
ImageSize check_picture(const std::string& field, const std::string& bytes, std::int64_t max_pixels) {
  const std::vector<unsigned char> data(bytes.begin(), bytes.end());
  const ImageSize size = check_header(field, data, max_pixels);
  decode_checked(field, data, max_pixels);
  return size;
}

// The whole text must be the number, within [low, high].
long long parse_integer(const std::string& field, const std::string& text, long long low, long long high) {
  size_t used = 0;
  long long value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw Refusal(400, field + ": \"" + shown(text) + "\" is not a whole number");
  if (value < low || value > high)
    throw Refusal(400, field + ": " + text + " is out of range (" + std::to_string(low) + ".." + std::to_string(high) + ")");
  return value;
}

// 0.5 -> "0.5", 1000 -> "1000".
std::string plain(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// The whole text must be a number within [low, high] (NaN is not).
double parse_number(const std::string& field, const std::string& text, double low, double high) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw Refusal(400, field + ": \"" + shown(text) + "\" is not a number");
  if (!(value >= low && value <= high))
    throw Refusal(400, field + ": " + shown(text) + " is out of range (" + plain(low) + ".." + plain(high) + ")");
  return value;
}

double parse_fraction(const std::string& field, const std::string& text) { return parse_number(field, text, 0, 1); }

// "0.7,0.3": one weight per uploaded painting, not all zero.
std::vector<double> parse_style_blend(const std::string& text, int styles) {
  std::vector<double> weights;
  std::size_t at = 0;
  while (at <= text.size()) {
    const std::size_t comma = std::min(text.find(',', at), text.size());
    if (static_cast<int>(weights.size()) == styles)
      throw Refusal(400, "style_blend: more weights than the " + std::to_string(styles) + " paintings uploaded");
    weights.push_back(parse_number("style_blend", text.substr(at, comma - at), 0, kMaxBlendWeight));
    at = comma + 1;
  }
  if (static_cast<int>(weights.size()) != styles)
    throw Refusal(400, "style_blend: " + std::to_string(weights.size()) + " weights for " + std::to_string(styles) +
                           " paintings");
  if (std::all_of(weights.begin(), weights.end(), [](double w) { return w == 0; }))
    throw Refusal(400, "style_blend: the weights are all zero");
  return weights;
}

bool parse_flag(const std::string& field, const std::string& text) {
  if (text == "true" || text == "1" || text == "on" || text == "yes") return true;
  if (text == "false" || text == "0" || text == "off" || text == "no" || text.empty()) return false;
  throw Refusal(400, field + ": \"" + shown(text) + "\" is not true or false");
}

// The settings of a `params` JSON object, as the text fields would give them.
std::map<std::string, std::string> settings_from_json(const std::string& text) {
  nlohmann::json params;
  try {
    params = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    throw Refusal(400, std::string("params: not valid JSON (") + first_line(error.what()) + ")");
  }
  if (!params.is_object()) throw Refusal(400, "params: expected a JSON object");
  std::map<std::string, std::string> settings;
  for (const auto& [key, value] : params.items()) {
    if (!kSettingNames.count(key)) throw Refusal(400, "params: unknown setting \"" + shown(key) + "\"");
    if (key == "style_blend" && value.is_array()) {  // [0.7, 0.3] as the field's "0.7,0.3"
      std::string joined;
      for (const auto& weight : value) {
        if (!weight.is_number()) throw Refusal(400, "params: \"style_blend\" must be numbers");
        joined += (joined.empty() ? "" : ",") + weight.dump();
      }
      settings[key] = joined;
    } else if (value.is_string()) {
      settings[key] = value.get<std::string>();
    } else if (value.is_boolean()) {
      settings[key] = value.get<bool>() ? "true" : "false";
    } else if (value.is_number_integer()) {
      settings[key] = std::to_string(value.get<long long>());
    } else if (value.is_number()) {
      settings[key] = value.dump();
    } else {
      throw Refusal(400, "params: \"" + key + "\" must be a string, number or boolean");
    }
  }
  return settings;
}

// The `region` fields ("#rrggbb=REF") bound: REF is a style upload's number
// (from 1) or file name, else an installed fast style's name (the painter
// checks that one).
std::vector<JobRegion> bind_regions(const std::vector<std::string>& texts,
                                    const std::vector<const UploadedField*>& styles) {
  std::vector<JobRegion> regions;
  for (const auto& text : texts) {
    RegionSpec spec;
    try {
      spec = parse_region(text);
    } catch (const Error&) {
      throw Refusal(400, "region: \"" + shown(text) +
                             "\" is not #rrggbb=STYLE (a style upload's number or file name, or a model)");
    }
    JobRegion region{colour_hex(spec.colour)};
    const std::string where = "region " + region.color + ": ";
    for (const auto& other : regions)
      if (other.color == region.color) throw Refusal(400, where + "that colour is bound twice");
    const std::string& ref = spec.style;
    if (ref.size() <= 9 && std::all_of(ref.begin(), ref.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const int number = std::stoi(ref);
      if (number < 1 || number > static_cast<int>(styles.size()))
        throw Refusal(400, where + "there is no style " + ref + " (" + std::to_string(styles.size()) + " uploaded)");
      region.style = number - 1;
    } else {
      for (size_t i = 0; i < styles.size() && region.style < 0; ++i)
        if (styles[i]->filename == ref) region.style = static_cast<int>(i);
      const auto printable = [](char c) { return std::isprint(static_cast<unsigned char>(c)) != 0; };
      if (region.style < 0 && (ref.size() > 200 || !std::all_of(ref.begin(), ref.end(), printable)))
        throw Refusal(400, where + "\"" + shown(ref) + "\" is not a style name");
      if (region.style < 0) region.model = ref;
    }
    regions.push_back(region);
  }
  return regions;
}

// A display name for the upload: printable, short, never used as a path.
std::string display_name(const std::string& filename) {
  std::string name;
  for (char c : filename)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == ' ') name += c;
  return name.substr(0, 80);
}

}  // namespace

JobRequest parse_job_request(const std::vector<UploadedField>& fields, const UploadLimits& limits) {
  JobRequest request;
  std::map<std::string, std::string> settings, from_params;
  bool params_given = false;
  const UploadedField* content = nullptr;
  std::vector<const UploadedField*> styles;
  const UploadedField* mask = nullptr;
  std::vector<std::string> region_texts;
  for (const auto& field : fields) {
    if (field.name == "content") {
      if (content) throw Refusal(400, "content: give one photo");
      content = &field;
    } else if (field.name == "style") {
      if (static_cast<int>(styles.size()) == limits.max_styles)
        throw Refusal(400, "style: at most " + std::to_string(limits.max_styles) + " paintings");
      styles.push_back(&field);
    } else if (field.name == "mask") {
      if (mask) throw Refusal(400, "mask: give one mask");
      mask = &field;
    } else if (field.name == "region") {
      if (static_cast<int>(region_texts.size()) == kMaxRegions)
        throw Refusal(400, "region: at most " + std::to_string(kMaxRegions) + " regions");
      region_texts.push_back(field.content);
    } else if (field.name == "params") {
      if (params_given) throw Refusal(400, "params: given twice");
      params_given = true;
      from_params = settings_from_json(field.content);
    } else if (kSettingNames.count(field.name)) {
      if (!settings.emplace(field.name, field.content).second) throw Refusal(400, field.name + ": given twice");
    } else {
      throw Refusal(400, "unknown field \"" + shown(field.name) + "\"");
    }
  }
  settings.insert(from_params.begin(), from_params.end());  // separate fields win
  const auto setting = [&](const std::string& name) {
    const auto found = settings.find(name);
    return found == settings.end() ? std::string() : found->second;
  };

  // Paintings without a method: Magenta (one pass), unless iterations ask for an optimisation.
  std::string method = setting("method");
  const std::string model = setting("model");
  if (method.empty()) method = styles.empty() ? "fast" : setting("iterations").empty() ? "magenta" : "gatys";
  if (method != "fast" && method != "magenta" && method != "adain" && method != "gatys")
    throw Refusal(400, "method: \"" + shown(method) + "\" is not fast, magenta, adain or gatys");
  const bool one_pass_paintings = method == "magenta" || method == "adain";
  const bool paints_with_uploads = method != "fast";
  const bool has_regions = !region_texts.empty();
  if (has_regions && !mask) throw Refusal(400, "region: binds colours of a mask: upload the mask too");
  if (has_regions && !model.empty())
    throw Refusal(400, "model: with region fields each region names its style: drop model");
  if (!has_regions && !setting("feather").empty())
    throw Refusal(400, "feather: only colour regions are feathered (give region fields)");
  if (method == "fast" && model.empty() && !has_regions)
    throw Refusal(400, "model: choose a style (fast) or upload a painting (magenta)");
  if (method == "fast" && !styles.empty()) throw Refusal(400, "style: a fast job uses its model, not paintings");
  const std::string a_job = (method == "adain" ? "an " : "a ") + method + " job";
  if (paints_with_uploads && styles.empty()) throw Refusal(400, "style: " + a_job + " needs a painting");
  if (paints_with_uploads && !model.empty()) throw Refusal(400, "model: " + a_job + " takes paintings, not a model");
  if (!one_pass_paintings && !setting("style_blend").empty())
    throw Refusal(400, "style_blend: only a magenta or adain job blends paintings");
  if (mask && !has_regions && styles.size() > 2)
    throw Refusal(400, "mask: a grey mask takes one painting (white: painted) or two (white: the first, black: the "
                       "second), not " + std::to_string(styles.size()) + "; for more, bind colours with region fields");
  if (mask && !setting("style_blend").empty())
    throw Refusal(400, "style_blend: a mask puts each painting in its own place; drop style_blend");
  const auto printable = [](char c) { return std::isprint(static_cast<unsigned char>(c)) != 0; };
  if (model.size() > 200 || !std::all_of(model.begin(), model.end(), printable))
    throw Refusal(400, "model: \"" + shown(model) + "\" is not a style name");
  std::string precision = setting("precision").empty() ? limits.default_precision : setting("precision");
  if (precision == "auto") precision = limits.auto_precision;  // resolved, so the job says which
  if (precision != "fp32" && precision != "bf16")
    throw Refusal(400, "precision: \"" + shown(precision) + "\" is not auto, fp32 or bf16");

  if (!content) throw Refusal(400, "content: upload a photo");
  const ImageSize size = check_picture("content", content->content, limits.max_pixels);
  std::int64_t style_pixels = 0;
  for (size_t i = 0; i < styles.size(); ++i) {
    const ImageSize style = check_picture("style " + std::to_string(i + 1), styles[i]->content, limits.max_pixels);
    style_pixels += std::int64_t{style.width} * style.height;
    if (one_pass_paintings && std::min(style.width, style.height) < kMinOnePassStyleSide)
      throw Refusal(400, "style " + std::to_string(i + 1) + ": " + std::to_string(style.width) + "x" +
                             std::to_string(style.height) + " is too small for a style (at least " +
                             std::to_string(kMinOnePassStyleSide) + " pixels a side)");
  }

  const std::vector<JobRegion> regions = bind_regions(region_texts, styles);
  for (const auto& region : regions)
    if (method == "gatys" && region.style < 0)
      throw Refusal(400, "region " + region.color + ": \"" + shown(region.model) +
                             "\" is no uploaded painting (a gatys job paints with those)");
  for (size_t i = 0; i < styles.size() && has_regions; ++i)
    if (std::none_of(regions.begin(), regions.end(), [&](const JobRegion& r) { return r.style == static_cast<int>(i); }))
      throw Refusal(400, "style " + std::to_string(i + 1) + ": no region uses it");

  std::int64_t mask_pixels = 0;
  if (mask) {
    const ImageSize mask_size = check_picture("mask", mask->content, limits.max_pixels);
    mask_pixels = std::int64_t{mask_size.width} * mask_size.height;
  }

  const int own_size = std::max(size.width, size.height);
  const int default_size =
      method == "gatys" ? std::min(JobSettings::kGatysSize, limits.max_size) : std::min(own_size, limits.max_size);
  JobSettings typed;
  typed.model = model;
  typed.styles = static_cast<int>(styles.size());
  typed.size = setting("size").empty() ? default_size : parse_integer("size", setting("size"), 64, limits.max_size);
  typed.strength = setting("strength").empty() ? 1.0 : parse_fraction("strength", setting("strength"));
  if (!setting("iterations").empty())
    typed.iterations = parse_integer("iterations", setting("iterations"), 1, limits.max_iterations);
  typed.keep_colors = parse_flag("keep_colors", setting("keep_colors"));
  if (!setting("style_blend").empty()) typed.style_blend = parse_style_blend(setting("style_blend"), typed.styles);
  typed.precision = precision;
  typed.mask = mask != nullptr;
  typed.mask_pixels = mask_pixels;
  typed.regions = regions;
  if (!setting("feather").empty()) typed.feather = parse_number("feather", setting("feather"), 0, kMaxFeather);
  typed.style_pixels = style_pixels;
  typed.content_width = size.width;
  typed.content_height = size.height;
  typed.content_name = display_name(content->filename);
  JobRecord& job = request.job;
  job.method = method;
  job.params = to_params(typed);
  job.iterations = method == "gatys" ? typed.iterations : 1;
  request.content = content->content;
  for (const auto* style : styles) request.styles.push_back(style->content);
  if (mask) request.mask = mask->content;
  return request;
}

cv::Mat parse_preview_photo(const std::vector<UploadedField>& fields, const UploadLimits& limits) {
  const UploadedField* photo = nullptr;
  for (const UploadedField& field : fields) {
    if (field.name != "photo") throw Refusal(400, "unknown field \"" + shown(field.name) + "\" (expected photo)");
    if (photo) throw Refusal(400, "photo: give one photo");
    photo = &field;
  }
  if (!photo) throw Refusal(400, "photo: missing (a picture to preview every style on)");
  const std::vector<unsigned char> data(photo->content.begin(), photo->content.end());
  check_header("photo", data, limits.max_pixels);
  return decode_checked("photo", data, limits.max_pixels).rgb;
}

}  // namespace atelier::studio
