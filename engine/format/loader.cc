#include "engine/format/loader.h"

#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/format/file_io.h"
#include "engine/format/json_fields.h"
#include "engine/format/json_parse.h"
#include "engine/format/sparsity.h"
#include "engine/format/tensor_reader.h"
#include "engine/format/weights.h"
#include "engine/format/weights_path.h"

namespace dyad {

namespace {

using nlohmann::json;

// Where the weights file's bytes come from.
struct WeightsInput {
  bool from_file = false;
  std::string folder;          // from_file: the model file's folder ("" is the working directory)
  bool allow_outside_folder = false;  // from_file: LoadOptions::allow_weights_outside_model_dir
  bool map_file = true;        // from_file: map it read-only (else read it)
  const void* data = nullptr;  // otherwise: the caller's bytes, may be null
  size_t bytes = 0;
  bool borrow = false;         // point into `data` instead of copying it
};

std::string indexed(std::string_view key, size_t i) {
  return std::string(key) + "[" + std::to_string(i) + "]";
}

// "MAJOR.MINOR", each a run of at most 6 digits.
bool parse_version(const std::string& s, int* major, int* minor) {
  int* parts[2] = {major, minor};
  size_t pos = 0;
  for (int part = 0; part < 2; ++part) {
    const size_t begin = pos;
    int value = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - begin < 6)
      value = value * 10 + (s[pos++] - '0');
    if (pos == begin) return false;
    *parts[part] = value;
    if (part == 0) {
      if (pos >= s.size() || s[pos] != '.') return false;
      ++pos;
    }
  }
  return pos == s.size();
}

class GraphReader {
 public:
  GraphReader(std::string source, WeightsInput weights)
      : source_(std::move(source)), weights_in_(std::move(weights)) {}

  Status read(std::string_view text, Graph* out) {
    json doc;
    DYAD_RETURN_IF_ERROR(parse_model_json(text, source_, &doc));
    if (!doc.is_object()) {
      return invalid_model(source_ + ": expected a JSON object at the top level, got " +
                           json_describe(doc));
    }
    std::string newer_version;
    DYAD_RETURN_IF_ERROR(read_format_and_version(doc, &newer_version));
    const JsonFields top(doc, source_, newer_version);
    DYAD_RETURN_IF_ERROR(top.check_known({"format", "version", "name", "metadata", "weights",
                                          "inputs", "outputs", "tensors", "nodes"}));
    graph_.source = source_;
    if (const json* v = top.find("name")) DYAD_RETURN_IF_ERROR(top.as_string(*v, "name", &graph_.name));
    if (const json* v = top.find("metadata")) {
      DYAD_RETURN_IF_ERROR(top.as_object(*v, "metadata"));
      // Moved, not copied: metadata can be large (stored samples). Its depth is
      // bounded by kMaxJsonDepth, like every value the graph keeps.
      graph_.metadata = std::move(doc["metadata"]);
    }
    if (const json* v = top.find("weights")) {
      DYAD_RETURN_IF_ERROR(read_weights_spec(top, *v, &weights_spec_));
      has_weights_ = true;
    }
    // Every required member is looked for before anything is read in depth, so
    // a missing one is reported first.
    for (const char* key : {"tensors", "nodes", "inputs", "outputs"}) {
      const json* unused = nullptr;
      DYAD_RETURN_IF_ERROR(top.require(key, &unused));
    }
    DYAD_RETURN_IF_ERROR(read_tensors(top));
    DYAD_RETURN_IF_ERROR(load_weights(top));
    for (TensorEntry& e : entries_) {
      if (e.packed_values) graph_.storage.push_back(ByteStorage::heap(std::move(e.packed_values)));
      graph_.tensors.push_back(std::move(e.desc));
    }
    DYAD_RETURN_IF_ERROR(read_graph_inputs(top));
    DYAD_RETURN_IF_ERROR(read_nodes(top));
    DYAD_RETURN_IF_ERROR(check_sources(top));
    *out = std::move(graph_);
    return Status::ok();
  }

 private:
  // Checked before unknown fields, so that a file that is not a dyad model, or
  // is a newer one, is told so rather than about its fields.
  Status read_format_and_version(const json& doc, std::string* newer_version) {
    const JsonFields f(doc, source_);
    const json* format = f.find("format");
    if (format == nullptr)
      return f.error("format", "missing; a dyad model has \"format\": \"dyad\"");
    if (!format->is_string() || format->get_ref<const std::string&>() != "dyad")
      return f.error("format", "expected \"dyad\", got " + json_describe(*format));
    std::string version;
    DYAD_RETURN_IF_ERROR(f.get_string("version", &version));
    int major = 0;
    int minor = 0;
    if (!parse_version(version, &major, &minor))
      return f.error("version", "expected \"MAJOR.MINOR\" such as \"1.0\", got \"" + version + "\"");
    if (major != kFormatMajorVersion) {
      return f.error("version",
                     "model is version " + version + ", this build reads version " +
                         std::to_string(kFormatMajorVersion) + ".x",
                     StatusCode::kUnsupported);
    }
    if (minor > kFormatMinorVersion) *newer_version = version;
    return Status::ok();
  }

  Status read_tensors(const JsonFields& top) {
    const json* list = top.find("tensors");
    DYAD_RETURN_IF_ERROR(top.as_array(*list, "tensors"));
    std::unordered_map<std::string, size_t> first_index;
    entries_.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
      TensorEntry entry;
      DYAD_RETURN_IF_ERROR(read_tensor_entry((*list)[i], i, top, has_weights_, &entry));
      auto [it, inserted] = first_index.emplace(entry.desc.name, i);
      if (!inserted) {
        return invalid_model(source_ + ": tensor '" + entry.desc.name +
                             "': field 'name': defined twice (tensors[" +
                             std::to_string(it->second) + "] and tensors[" + std::to_string(i) +
                             "])");
      }
      tensor_index_.emplace(entry.desc.name, static_cast<int>(i));
      entries_.push_back(std::move(entry));
    }
    return Status::ok();
  }

  bool uses_weights_file() const {
    for (const TensorEntry& e : entries_)
      if (e.in_weights_file) return true;
    return false;
  }

  // Reads (or copies) the weights file, checks it against the "weights" field
  // and points each "data" tensor into it.
  Status load_weights(const JsonFields& top) {
    if (!has_weights_) {
      if (!weights_in_.from_file && weights_in_.bytes > 0) {
        return Status(StatusCode::kInvalidArgument,
                      source_ + ": weights were given, but the model has no 'weights' field");
      }
      return Status::ok();
    }
    ByteStorage contents;
    std::string shown_name = weights_spec_.file;
    if (weights_in_.from_file) {
      DYAD_RETURN_IF_ERROR(read_weights_file(top, &shown_name, &contents));
    } else {
      if (weights_in_.data == nullptr) {
        if (!uses_weights_file()) return Status::ok();
        return top.error("weights",
                         "the model's constants are in weights file '" + weights_spec_.file +
                             "', but no weights were given",
                         StatusCode::kInvalidArgument);
      }
      DYAD_RETURN_IF_ERROR(check_weights_size(top, weights_spec_, weights_in_.bytes, shown_name));
      if (weights_in_.borrow) {
        contents = ByteStorage::borrowed(weights_in_.data, weights_in_.bytes);
      } else {
        auto copy = std::make_shared<AlignedBuffer>(weights_in_.bytes);
        if (!copy->ok()) {
          return Status(StatusCode::kOutOfMemory, source_ + ": cannot allocate " +
                                                      std::to_string(weights_in_.bytes) +
                                                      " bytes for the weights");
        }
        if (weights_in_.bytes > 0) std::memcpy(copy->data(), weights_in_.data, weights_in_.bytes);
        contents = ByteStorage::heap(std::move(copy));
      }
    }
    DYAD_RETURN_IF_ERROR(check_weights_checksum(top, weights_spec_, contents, shown_name));

    const uint64_t size = contents.size;
    for (TensorEntry& e : entries_) {
      if (!e.in_weights_file) continue;
      const uint64_t bytes = e.desc.data_bytes;
      if (e.file_offset > size || bytes > size - e.file_offset) {
        return invalid_model(source_ + ": tensor '" + e.desc.name + "': field 'data.offset': " +
                             std::to_string(e.file_offset) + " + " + std::to_string(bytes) +
                             " bytes lies outside weights file '" + shown_name + "' (" +
                             std::to_string(size) + " bytes)");
      }
      e.desc.data = contents.data + e.file_offset;
      // Every index of a sparse constant is checked before anything uses it.
      if (e.desc.sparsity.vnm)
        DYAD_RETURN_IF_ERROR(validate_sparse_data(source_ + ": tensor '" + e.desc.name + "'", e.desc));
    }
    graph_.storage.push_back(std::move(contents));
    return Status::ok();
  }

  // Opens the weights file (confined to the model's folder unless allowed),
  // compares its size with "weights.bytes" before reading a byte, then maps it
  // read-only (or reads it, LoadOptions::read_weights_into_memory).
  Status read_weights_file(const JsonFields& top, std::string* shown_name,
                           ByteStorage* contents) const {
    const std::string context = top.where() + ": field 'weights.file'";
    WeightsPath path;
    DYAD_RETURN_IF_ERROR(resolve_weights_path(weights_in_.folder, weights_spec_.file,
                                              weights_in_.allow_outside_folder, context, &path));
    *shown_name = path.shown_path;
    InputFile file;
    DYAD_RETURN_IF_ERROR(file.open(path.open_path, context, "weights file", path.confined));
    DYAD_RETURN_IF_ERROR(check_weights_size(top, weights_spec_, file.size(), *shown_name));
    if (weights_in_.map_file) return file.map_all(contents);
    std::shared_ptr<AlignedBuffer> buffer;
    DYAD_RETURN_IF_ERROR(file.read_all(&buffer));
    *contents = ByteStorage::heap(std::move(buffer));
    return Status::ok();
  }

  Status resolve(const JsonFields& f, const std::string& key, const std::string& name,
                 int* out) const {
    auto it = tensor_index_.find(name);
    if (it == tensor_index_.end()) return f.error(key, "unknown tensor '" + name + "'");
    *out = it->second;
    return Status::ok();
  }

  Status read_graph_inputs(const JsonFields& top) {
    std::vector<std::string> names;
    DYAD_RETURN_IF_ERROR(top.get_string_list("inputs", &names));
    is_graph_input_.assign(graph_.tensors.size(), false);
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string key = indexed("inputs", i);
      int t = -1;
      DYAD_RETURN_IF_ERROR(resolve(top, key, names[i], &t));
      const TensorDesc& desc = graph_.tensors[t];
      if (desc.is_constant)
        return top.error(key, "tensor '" + names[i] + "' is a constant; a graph input cannot be one");
      if (!desc.shape_known)
        return top.error(key, "tensor '" + names[i] + "' has no shape; a graph input needs one");
      if (is_graph_input_[t]) return top.error(key, "tensor '" + names[i] + "' is listed twice");
      is_graph_input_[t] = true;
      graph_.inputs.push_back(t);
    }

    DYAD_RETURN_IF_ERROR(top.get_string_list("outputs", &names));
    if (names.empty()) return top.error("outputs", "a model needs at least one output");
    std::vector<bool> listed(graph_.tensors.size(), false);
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string key = indexed("outputs", i);
      int t = -1;
      DYAD_RETURN_IF_ERROR(resolve(top, key, names[i], &t));
      if (graph_.tensors[t].is_constant)
        return top.error(key, "tensor '" + names[i] + "' is a constant; a graph output cannot be one");
      if (listed[t]) return top.error(key, "tensor '" + names[i] + "' is listed twice");
      listed[t] = true;
      graph_.outputs.push_back(t);
    }
    return Status::ok();
  }

  Status read_node(const json& item, size_t index, const JsonFields& top,
                   std::unordered_map<std::string, size_t>* node_index) {
    const std::string item_key = indexed("nodes", index);
    DYAD_RETURN_IF_ERROR(top.as_object(item, item_key));
    Node node;
    {
      const JsonFields unnamed = top.nested(item, item_key);
      DYAD_RETURN_IF_ERROR(unnamed.get_string("name", &node.name));
      if (node.name.empty()) return unnamed.error("name", "must not be empty");
    }
    const JsonFields f(item, source_ + ": node '" + node.name + "'", top.newer_version());
    DYAD_RETURN_IF_ERROR(f.check_known({"name", "op", "inputs", "outputs", "attrs"}));
    auto [it, inserted] = node_index->emplace(node.name, index);
    if (!inserted) {
      return f.error("name", "defined twice (nodes[" + std::to_string(it->second) + "] and nodes[" +
                                 std::to_string(index) + "])");
    }

    std::string op;
    DYAD_RETURN_IF_ERROR(f.get_string("op", &op));
    std::optional<OpType> type = op_type_from_name(op);
    if (!type) return f.error("op", "unknown op \"" + op + "\"");
    node.op = *type;

    std::vector<std::string> names;
    DYAD_RETURN_IF_ERROR(f.get_string_list("inputs", &names));
    for (size_t i = 0; i < names.size(); ++i) {
      int t = -1;  // "" is an omitted optional input
      if (!names[i].empty()) DYAD_RETURN_IF_ERROR(resolve(f, indexed("inputs", i), names[i], &t));
      node.inputs.push_back(t);
    }

    DYAD_RETURN_IF_ERROR(f.get_string_list("outputs", &names));
    if (names.empty()) return f.error("outputs", "a node needs at least one output");
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string key = indexed("outputs", i);
      if (names[i].empty()) return f.error(key, "an output cannot be omitted (\"\")");
      int t = -1;
      DYAD_RETURN_IF_ERROR(resolve(f, key, names[i], &t));
      if (graph_.tensors[t].is_constant)
        return f.error(key, "tensor '" + names[i] + "' is a constant; a node cannot produce it");
      if (is_graph_input_[t])
        return f.error(key, "tensor '" + names[i] + "' is a graph input; a node cannot produce it");
      if (producer_[t] >= 0) {
        return f.error(key, "tensor '" + names[i] + "' is already produced by node '" +
                                graph_.nodes[producer_[t]].name + "'");
      }
      producer_[t] = static_cast<int>(graph_.nodes.size());
      node.outputs.push_back(t);
    }

    if (const json* v = f.find("attrs")) {
      DYAD_RETURN_IF_ERROR(f.as_object(*v, "attrs"));
      node.attrs = *v;
    }
    graph_.nodes.push_back(std::move(node));
    return Status::ok();
  }

  Status read_nodes(const JsonFields& top) {
    const json* list = top.find("nodes");
    DYAD_RETURN_IF_ERROR(top.as_array(*list, "nodes"));
    producer_.assign(graph_.tensors.size(), -1);
    std::unordered_map<std::string, size_t> node_index;
    graph_.nodes.reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i)
      DYAD_RETURN_IF_ERROR(read_node((*list)[i], i, top, &node_index));
    return Status::ok();
  }

  // Every tensor a node reads, and every graph output, must come from somewhere.
  Status check_sources(const JsonFields& top) const {
    auto has_source = [&](int t) {
      return graph_.tensors[t].is_constant || is_graph_input_[t] || producer_[t] >= 0;
    };
    for (const Node& node : graph_.nodes) {
      for (size_t i = 0; i < node.inputs.size(); ++i) {
        const int t = node.inputs[i];
        if (t < 0 || has_source(t)) continue;
        return invalid_model(source_ + ": node '" + node.name + "': field '" +
                             indexed("inputs", i) + "': tensor '" + graph_.tensors[t].name +
                             "' is not a graph input, a constant or any node's output");
      }
    }
    for (size_t i = 0; i < graph_.outputs.size(); ++i) {
      const int t = graph_.outputs[i];
      if (has_source(t)) continue;
      return top.error(indexed("outputs", i),
                       "tensor '" + graph_.tensors[t].name + "' is not produced by any node");
    }
    return Status::ok();
  }

  std::string source_;
  WeightsInput weights_in_;
  bool has_weights_ = false;
  WeightsSpec weights_spec_;
  std::vector<TensorEntry> entries_;
  std::unordered_map<std::string, int> tensor_index_;
  std::vector<bool> is_graph_input_;
  std::vector<int> producer_;  // per tensor: the index of the node producing it, or -1
  Graph graph_;
};

// The one place exceptions (allocation failures, in practice) are turned into
// a Status, so none leaves the loader.
template <typename Fn>
Status guarded(const std::string& source, Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Status(StatusCode::kOutOfMemory, source + ": out of memory while loading the model");
  } catch (const std::exception& e) {
    return Status(StatusCode::kInternal, source + ": unexpected error while loading: " + e.what());
  } catch (...) {
    return Status(StatusCode::kInternal, source + ": unexpected error while loading");
  }
}

}  // namespace

Status load_graph_from_file(const std::string& json_path, Graph* out,
                            const LoadOptions& options) {
  if (out == nullptr) return invalid_argument(json_path + ": no output graph given");
  return guarded(json_path, [&]() -> Status {
    std::shared_ptr<AlignedBuffer> text;
    DYAD_RETURN_IF_ERROR(
        read_whole_file(json_path, json_path, "model file", kMaxModelFileBytes, &text));
    WeightsInput weights;
    weights.from_file = true;
    weights.allow_outside_folder = options.allow_weights_outside_model_dir;
    weights.map_file = !options.read_weights_into_memory;
    weights.folder = std::filesystem::path(json_path).parent_path().string();
    const std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
    return GraphReader(json_path, std::move(weights)).read(view, out);
  });
}

Status load_graph_from_memory(std::string_view json_text, const void* weights,
                              size_t weights_bytes, std::string_view source_name, Graph* out,
                              const LoadOptions& options) {
  const std::string source = source_name.empty() ? "<memory>" : std::string(source_name);
  if (out == nullptr) return invalid_argument(source + ": no output graph given");
  if (weights == nullptr && weights_bytes > 0)
    return invalid_argument(source + ": weights_bytes is " + std::to_string(weights_bytes) +
                            " but the weights pointer is null");
  return guarded(source, [&]() -> Status {
    WeightsInput in;
    in.data = weights;
    in.bytes = weights_bytes;
    in.borrow = options.borrow_weights;
    return GraphReader(source, std::move(in)).read(json_text, out);
  });
}

}  // namespace dyad
