// `atelier models import` of the original TFLite files of Magenta's
// arbitrary stylisation networks (TensorFlow's mobile release of
// arbitrary-image-stylization-v1-256): the weights dequantised or widened to
// float32, transposed to PyTorch's layouts and named as the library reads
// them (the layout of ../shared/models/magenta-arbitrary, see its README).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "atelier/error.hpp"
#include "atelier/model_store.hpp"
#include "atelier/model_tools.hpp"
#include "atelier/safetensors.hpp"
#include "weights/tflite_reader.hpp"
#include "util/text.hpp"

namespace atelier {

namespace {

using Shape = std::vector<std::int64_t>;

struct Block {
  int in, hidden, out, stride;
  bool residual;
};
// MobileNetV2 (width 1.0) as the style predictor uses it (README's table).
const Block kBlocks[17] = {{32, 32, 16, 1, false},   {16, 96, 24, 2, false},   {24, 144, 24, 1, true},
                           {24, 144, 32, 2, false},  {32, 192, 32, 1, true},   {32, 192, 32, 1, true},
                           {32, 192, 64, 2, false},  {64, 384, 64, 1, true},   {64, 384, 64, 1, true},
                           {64, 384, 64, 1, true},   {64, 384, 96, 1, false},  {96, 576, 96, 1, true},
                           {96, 576, 96, 1, true},   {96, 576, 160, 2, false}, {160, 960, 160, 1, true},
                           {160, 960, 160, 1, true}, {160, 960, 320, 1, false}};

struct Layer {
  std::string name;
  int kernel, stride, in, out;
  bool bias, relu;
};
// The transformer (width 0.25): contract convs with bias and ReLU, the rest
// without bias and followed by a conditional instance norm.
std::vector<Layer> transfer_layers() {
  std::vector<Layer> layers = {{"transfer.contract.conv1", 9, 1, 3, 8, true, true},
                               {"transfer.contract.conv2", 3, 2, 8, 16, true, true},
                               {"transfer.contract.conv3", 3, 2, 16, 32, true, true}};
  for (int r = 1; r <= 5; ++r)
    for (int c = 1; c <= 2; ++c)
      layers.push_back({"transfer.residual" + std::to_string(r) + ".conv" + std::to_string(c), 3, 1, 32, 32, false, false});
  layers.push_back({"transfer.expand.conv1", 3, 1, 32, 16, false, false});
  layers.push_back({"transfer.expand.conv2", 3, 1, 16, 8, false, false});
  layers.push_back({"transfer.expand.conv3", 9, 1, 8, 3, false, false});
  return layers;
}

constexpr int kStyleSize = 100;

std::map<std::string, Shape> predictor_shapes() {
  std::map<std::string, Shape> shapes;
  const auto conv = [&](const std::string& name, std::int64_t out, std::int64_t in, std::int64_t k) {
    shapes[name + ".weight"] = {out, in, k, k};
    shapes[name + ".bias"] = {out};
  };
  conv("predictor.conv0", 32, 3, 3);
  for (int b = 0; b < 17; ++b) {
    const Block& block = kBlocks[b];
    const std::string name = "predictor.block" + std::to_string(b);
    if (b > 0) conv(name + ".expand", block.hidden, block.in, 1);
    conv(name + ".depthwise", block.hidden, 1, 3);
    conv(name + ".project", block.out, block.hidden, 1);
  }
  conv("predictor.conv_last", 1280, 320, 1);
  conv("predictor.bottleneck", kStyleSize, 1280, 1);
  return shapes;
}

std::map<std::string, Shape> transfer_shapes() {
  std::map<std::string, Shape> shapes;
  for (const Layer& layer : transfer_layers()) {
    shapes[layer.name + ".weight"] = {layer.out, layer.in, layer.kernel, layer.kernel};
    if (layer.bias) {
      shapes[layer.name + ".bias"] = {layer.out};
    } else {
      for (const char* part : {".norm.gamma", ".norm.beta"}) {
        shapes[layer.name + part + ".weight"] = {layer.out, kStyleSize};
        shapes[layer.name + part + ".bias"] = {layer.out};
      }
    }
  }
  return shapes;
}

// "weight" or "bias" from the last part of a TFLite name, "" for anything else.
std::string parameter_kind(const std::string& last) {
  if (last == "weights" || last == "depthwise_weights") return "weight";
  if (last == "Conv2D_bias" || last == "depthwise_bias") return "bias";
  return "";
}

// The safetensors key of a TFLite tensor name, "" when it is not a parameter.
std::string key_of(const std::string& name) {
  const std::size_t slash = name.rfind('/');
  if (slash == std::string::npos) return "";
  const std::string kind = parameter_kind(name.substr(slash + 1));
  if (kind.empty()) return "";
  std::string path = name.substr(0, slash);
  std::string layer;
  // Style predictor.
  if (path == "MobilenetV2/Conv") layer = "predictor.conv0";
  else if (path == "MobilenetV2/Conv_1") layer = "predictor.conv_last";
  else if (path == "mobilenet_conv/Conv") layer = "predictor.bottleneck";
  else if (starts_with(path, "MobilenetV2/expanded_conv")) {
    std::string rest = path.substr(std::string("MobilenetV2/expanded_conv").size());  // "/part" or "_N/part"
    std::string number = "0";
    if (starts_with(rest, "_")) {
      const std::size_t end = rest.find('/');
      if (end == std::string::npos) return "";
      number = rest.substr(1, end - 1);
      rest = rest.substr(end);
    }
    if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos) return "";
    if (rest != "/expand" && rest != "/depthwise" && rest != "/project") return "";
    layer = "predictor.block" + number + "." + rest.substr(1);
  } else {
    // Style transfer network; the style norms' projections live under style_params/.
    std::string norm;
    if (starts_with(path, "style_params/")) {
      path = path.substr(std::string("style_params/").size());
      if (ends_with(path, "/StyleNorm/Conv_1")) norm = ".norm.gamma";
      else if (ends_with(path, "/StyleNorm/Conv")) norm = ".norm.beta";
      else return "";
      path = path.substr(0, path.rfind("/StyleNorm/"));
    }
    if (starts_with(path, "transformer/contract/conv")) {
      layer = "transfer.contract." + path.substr(std::string("transformer/contract/").size());
    } else if (starts_with(path, "transformer/residual/residual")) {
      std::string rest = path.substr(std::string("transformer/residual/").size());  // residualR/convN
      const std::size_t cut = rest.find('/');
      if (cut == std::string::npos) return "";
      layer = "transfer." + rest.substr(0, cut) + "." + rest.substr(cut + 1);
    } else if (starts_with(path, "transformer/expand/conv") && ends_with(path, "/conv")) {
      layer = "transfer.expand." + path.substr(std::string("transformer/expand/").size(),
                                               path.size() - std::string("transformer/expand/").size() - 5);
    } else {
      return "";
    }
    layer += norm;
  }
  return layer + "." + kind;
}

// Reorders row-major `values` of `shape` so that new dimension d is old dimension order[d].
std::vector<float> permute(const std::vector<float>& values, const Shape& shape, const std::vector<int>& order) {
  const std::size_t rank = shape.size();
  std::vector<std::size_t> stride(rank, 1);
  for (std::size_t d = rank - 1; d > 0; --d) stride[d - 1] = stride[d] * static_cast<std::size_t>(shape[d]);
  Shape out_shape(rank);
  for (std::size_t d = 0; d < rank; ++d) out_shape[d] = shape[order[d]];
  std::vector<float> result(values.size());
  std::vector<std::int64_t> index(rank, 0);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::size_t from = 0;
    for (std::size_t d = 0; d < rank; ++d) from += static_cast<std::size_t>(index[d]) * stride[order[d]];
    result[i] = values[from];
    for (std::size_t d = rank; d-- > 0;) {
      if (++index[d] < out_shape[d]) break;
      index[d] = 0;
    }
  }
  return result;
}

std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

// The parameter in PyTorch's layout: [O,H,W,I] -> OIHW, depthwise [1,H,W,C] ->
// [C,1,H,W], a style projection [C,1,1,100] -> [C,100], biases as they are.
TensorToWrite to_torch_layout(const std::string& key, const Shape& shape, std::vector<float> values) {
  TensorToWrite tensor;
  tensor.dtype = DType::F32;
  if (shape.size() == 4 && key.find(".norm.") != std::string::npos) {
    tensor.shape = {shape[0], shape[1] * shape[2] * shape[3]};
    tensor.values = std::move(values);
  } else if (shape.size() == 4 && key.find(".depthwise.") != std::string::npos) {
    tensor.shape = {shape[3], shape[0], shape[1], shape[2]};
    tensor.values = permute(values, shape, {3, 0, 1, 2});
  } else if (shape.size() == 4) {
    tensor.shape = {shape[0], shape[3], shape[1], shape[2]};
    tensor.values = permute(values, shape, {0, 3, 1, 2});
  } else {
    tensor.shape = shape;
    tensor.values = std::move(values);
  }
  return tensor;
}

const char* const kLicence =
    "Apache-2.0 (TFLite metadata inside the files: \"Apache License. Version 2.0\", author TensorFlow; Magenta "
    "model, TF Hub magenta/arbitrary-image-stylization-v1-256 lite release)";
const char* const kPaper =
    "Ghiasi et al. 2017, Exploring the structure of a real-time, arbitrary neural artistic stylization network "
    "(distilled MobileNetV2 predictor + small transformer)";

// The published files (../shared/models/magenta-arbitrary/README.md).
const std::map<std::string, std::string> kKnownFiles = {
    {"af6ad4b2e7aeba0675f32636082ab915ced5375229a3f8aff7e714c6213f5ed2",
     "magenta_arbitrary-image-stylization-v1-256_int8_prediction_1.tflite"},
    {"53b5243ed5aa33e408db7976c8a8e51a90a0f7708fd122a31428cd00fbdf6aa6",
     "magenta_arbitrary-image-stylization-v1-256_fp16_transfer_1.tflite"},
    {"7a1550643cf034a4d813c0aa276976cd15da4141b4f1ec3631db1d0d9c8e2cd1",
     "magenta_arbitrary-image-stylization-v1-256_int8_transfer_1.tflite"},
};

std::map<std::string, std::string> predictor_metadata() {
  nlohmann::ordered_json blocks = nlohmann::ordered_json::array();
  for (int b = 0; b < 17; ++b)
    blocks.push_back({{"block", b}, {"in", kBlocks[b].in}, {"expand", b > 0}, {"hidden", kBlocks[b].hidden},
                      {"out", kBlocks[b].out}, {"stride", kBlocks[b].stride}, {"residual", kBlocks[b].residual}});
  return {
      {"format", "safetensors; conv weights OIHW F32, depthwise weights [C,1,kh,kw] F32, biases F32 (BatchNorm folded)"},
      {"network", "Magenta arbitrary-image-stylization-v1-256 style prediction network (MobileNetV2 alpha 1.0 trunk, "
                  "17 inverted-residual blocks, global mean, 1x1 conv 1280->100)"},
      {"input", "style image, RGB, float in [0,1] (pixel/255), NCHW [1,3,256,256]; no mean/std normalisation "
                "inside or outside the graph"},
      {"output", "style bottleneck, 100 floats (graph output [1,1,1,100], tensor mobilenet_conv/Conv/BiasAdd), no "
                 "activation"},
      {"padding", "TensorFlow SAME zero padding on every conv: pad_total=max((ceil(H/s)-1)*s+k-H,0), "
                  "pad_before=pad_total//2, pad_after=rest (stride-2 convs on even sizes pad 0 before, 1 after)"},
      {"activation", "ReLU6 after conv0, every expand and every depthwise conv, and conv_last; none after project "
                     "convs and the bottleneck conv"},
      {"blocks", blocks.dump()},
  };
}

std::map<std::string, std::string> transfer_metadata() {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const Layer& layer : transfer_layers())
    layers.push_back({{"name", layer.name}, {"kernel", layer.kernel}, {"stride", layer.stride}, {"in", layer.in},
                      {"out", layer.out}, {"padding_attr", "VALID"}, {"fused_act", layer.relu ? "RELU" : "NONE"},
                      {"has_bias", layer.bias}});
  return {
      {"format", "safetensors; conv weights OIHW F32, biases F32; conditional-instance-norm projections as [C,100] "
                 "matrices + [C] biases"},
      {"network", "Magenta arbitrary-image-stylization-v1-256 style transfer network (distilled, alpha 0.25: "
                  "8/16/32 channels), 3 contract convs, 5 residual blocks, 3 upsampling convs, conditional instance "
                  "norm driven by the 100-d style bottleneck"},
      {"input", "content image RGB float in [0,1], NCHW [1,3,H,W] (TFLite graph is fixed at 384x384; the network is "
                "fully convolutional, use H,W multiples of 4); style bottleneck [1,100]"},
      {"output", "stylised image RGB in [0,1] (sigmoid), same size as the content when H,W are multiples of 4"},
      {"padding", "REFLECT (MirrorPad mode REFLECT, edge not repeated) by k//2 on each side before every conv of the "
                  "transformer, conv itself VALID"},
      {"upsampling", "nearest neighbour x2 (TF ResizeNearestNeighbor align_corners=false half_pixel_centers=false, "
                     "i.e. out[i]=in[floor(i/2)]) before expand.conv1 and expand.conv2; expand.conv3 is not upsampled"},
      {"instance_norm", "y = (x-mean)*rsqrt(var+eps)*gamma + beta, mean/var (biased) over H,W per channel, gamma = "
                        "gamma.weight @ s + gamma.bias, beta = beta.weight @ s + beta.bias, s = style bottleneck"},
      {"layers", layers.dump()},
  };
}

std::string quantization_note(const tflite::Model& model) {
  std::set<int> types;
  for (const auto& tensor : model.tensors)
    if (!key_of(tensor.name).empty()) types.insert(tensor.type);
  if (types.count(tflite::kInt8))
    return "source weights are int8 per-channel (biases int32, scale = input scale x weight scale); stored here "
           "dequantized (real = scale * (q - zero_point)) as F32";
  if (types.count(tflite::kFloat16)) return "source weights are float16; stored here as the exact F32 values of those fp16 numbers";
  return "source weights are float32, stored as they are";
}

}  // namespace

std::string import_magenta_tflite(const std::string& tflite_path, const std::string& output) {
  if (!ends_with(output, ".safetensors")) throw Error(output + ": the output must be a .safetensors file");
  const tflite::Model model = tflite::read_model(tflite_path);
  bool predictor = false, transfer = false;
  for (const auto& tensor : model.tensors) {
    predictor = predictor || tensor.name == "MobilenetV2/Conv/weights";
    transfer = transfer || tensor.name == "transformer/contract/conv1/weights";
  }
  if (predictor == transfer)
    throw Error(tflite_path + ": a TFLite model, but not Magenta's arbitrary style predictor or transfer network");
  const std::string network = predictor ? "magenta-predictor" : "magenta-transfer";
  const std::map<std::string, Shape> expected = predictor ? predictor_shapes() : transfer_shapes();

  std::map<std::string, TensorToWrite> tensors;
  std::string eps;
  for (const auto& tensor : model.tensors) {
    if (transfer && eps.empty() && ends_with(tensor.name, "/StyleNorm/batchnorm/add/y")) {
      const std::vector<float> value = model.to_float(tensor);
      if (value.size() == 1) {
        char text[40];
        std::snprintf(text, sizeof text, "%.17g", static_cast<double>(value[0]));
        eps = text;
      }
    }
    const std::string key = key_of(tensor.name);
    if (key.empty()) continue;
    std::size_t size = 0;
    if (model.data(tensor, &size) == nullptr) continue;  // computed at run time, not a parameter
    std::vector<float> values = model.to_float(tensor);
    if (!expected.count(key)) {
      // The graph adds all-zero biases to convs that have none: nothing is lost by leaving them out.
      const bool zero = std::all_of(values.begin(), values.end(), [](float v) { return v == 0.0f; });
      if (ends_with(key, ".bias") && zero) continue;
      throw Error(tflite_path + ": tensor \"" + tensor.name + "\" (" + key + ") is not part of the " + network +
                  " network");
    }
    if (tensors.count(key)) throw Error(tflite_path + ": two tensors give " + key);
    TensorToWrite converted = to_torch_layout(key, tensor.shape, std::move(values));
    if (converted.shape != expected.at(key))
      throw Error(tflite_path + ": tensor \"" + tensor.name + "\" has shape " + shape_text(tensor.shape) +
                  ", which does not fit " + key + " " + shape_text(expected.at(key)));
    tensors[key] = std::move(converted);
  }
  for (const auto& [key, shape] : expected)
    if (!tensors.count(key))
      throw Error(tflite_path + ": " + network + " network without its " + key + " (" + shape_text(shape) + ")");

  std::map<std::string, std::string> metadata = predictor ? predictor_metadata() : transfer_metadata();
  const std::string sha256 = sha256_file(tflite_path);
  metadata["source_file"] = std::filesystem::path(tflite_path).filename().string();
  metadata["source_sha256"] = sha256;
  const auto known = kKnownFiles.find(sha256);
  metadata["source_published"] =
      known == kKnownFiles.end() ? "no: not byte-identical to a file TensorFlow published"
                                 : "yes: TensorFlow's " + known->second;
  metadata["licence"] = kLicence;
  metadata["paper"] = kPaper;
  metadata["quantization"] = quantization_note(model);
  metadata["converted_by"] = "atelier models import";
  if (transfer && !eps.empty()) metadata["instance_norm_eps"] = eps;
  write_safetensors(output, tensors, metadata);
  return network;
}

}  // namespace atelier
