// `dyad run MODEL [--input NAME=FILE.npy ...] [--output-dir DIR] [--threads N] [--timeout S]`
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>

#include "engine/api/float_boundary.h"
#include "engine/cli/cli.h"
#include "engine/cli/npy.h"
#include "engine/exec/session.h"

namespace dyad::cli {

namespace {

constexpr char kHelp[] =
    "usage: dyad run MODEL [--input NAME=FILE.npy ...] [--output-dir DIR] [--threads N]\n"
    "                [--timeout SECONDS]\n"
    "\n"
    "Runs MODEL once and prints each output's shape, first values and argmax.\n"
    "  --input NAME=FILE.npy  the value of input NAME (FILE.npy alone when the model has\n"
    "                         one input). The .npy dtype must be the input's container\n"
    "                         (int8/int4: int8, uint8/uint4: uint8, int16, int32, int64),\n"
    "                         or float32/float64, quantized as q = clamp(rne(x / scale) +\n"
    "                         zero_point). The shape must match. An input without a file\n"
    "                         gets deterministic pseudo-random values.\n"
    "  --output-dir DIR       write NAME.npy (integers) and, when the output has a scale,\n"
    "                         NAME.f32.npy (dequantized) for every output\n"
    "  --threads N            threads of the session (default 1)\n"
    "  --timeout SECONDS      stop the run with an error once it takes longer (decimal,\n"
    "                         e.g. 0.5; default: no limit)\n";

constexpr size_t kShownValues = 16;

// Output names may hold characters that do not belong in a file name.
std::string file_stem(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
  return s.empty() ? "_" : s;
}

// Copies the bytes out first: NpyArray holds bytes, not F objects.
template <typename F>
Status quantize_floats(const TensorDesc& desc, const NpyArray& array, void* container) {
  std::vector<F> values(array.num_elements());
  std::memcpy(values.data(), array.data.data(), values.size() * sizeof(F));
  return quantize_to_container(desc, values.data(), values.size(), container);
}

// Puts the .npy file's values into input i (exact container dtype, or float).
Status set_input_from_npy(Session* session, size_t i, const std::string& path) {
  const TensorDesc& desc = session->model().input(i);
  NpyArray array;
  DYAD_RETURN_IF_ERROR(read_npy(path, &array));
  if (array.shape != desc.shape)
    return invalid_argument(path + ": shape " + shape_to_string(array.shape) +
                            " does not match input '" + desc.name + "' of shape " +
                            shape_to_string(desc.shape));
  if (npy_is_float(array.type)) {
    std::vector<uint8_t> container(session->input_bytes(i));
    const Status s = array.type == NpyType::kF4
                         ? quantize_floats<float>(desc, array, container.data())
                         : quantize_floats<double>(desc, array, container.data());
    if (!s.is_ok()) return Status(s.code(), path + ": " + s.message());
    return session->set_input(i, container.data(), container.size());
  }
  const NpyType want = npy_type_of(desc.dtype);
  if (array.type != want)
    return invalid_argument(path + ": dtype '" + std::string(npy_descr(array.type)) +
                            "' does not match input '" + desc.name + "' (" +
                            std::string(dtype_name(desc.dtype)) + ", which takes '" +
                            std::string(npy_descr(want)) + "', or float32/float64)");
  const Status s = session->set_input(i, array.data.data(), array.data.size());
  if (!s.is_ok()) return Status(s.code(), path + ": " + s.message());
  return Status::ok();
}

void print_output(const TensorDesc& desc, const void* data, const std::vector<float>& dequant) {
  const size_t n = static_cast<size_t>(shape_elements(desc.shape));
  std::printf("output '%s': %s %s %s\n", desc.name.c_str(), std::string(dtype_name(desc.dtype)).c_str(),
              shape_to_string(desc.shape).c_str(), quantization_text(desc).c_str());
  std::printf("  values:");
  for (size_t k = 0; k < n && k < kShownValues; ++k)
    std::printf(" %lld", static_cast<long long>(load_container_element(desc.dtype, data, k)));
  std::printf("%s\n", n > kShownValues ? " ..." : "");
  if (!dequant.empty()) {
    std::printf("  float: ");
    for (size_t k = 0; k < n && k < kShownValues; ++k) std::printf(" %.6g", dequant[k]);
    std::printf("%s\n", n > kShownValues ? " ..." : "");
  }
  // A vector: every dimension but the last is 1. Argmax of the real values
  // (a negative scale reverses the integer order), first index on ties.
  size_t outer = 1;
  for (size_t d = 0; d + 1 < desc.shape.size(); ++d) outer *= static_cast<size_t>(desc.shape[d]);
  if (desc.shape.empty() || outer != 1 || n < 2) return;
  size_t best = 0;
  for (size_t k = 1; k < n; ++k) {
    const bool better = dequant.empty() ? load_container_element(desc.dtype, data, k) >
                                              load_container_element(desc.dtype, data, best)
                                        : dequant[k] > dequant[best];
    if (better) best = k;
  }
  std::printf("  argmax: %zu\n", best);
}

}  // namespace

int run_command(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"--input", "-i", "--output-dir", "-o", "--threads", "-t", "--timeout"}, {}, &parsed,
                  &error))
    return usage_error("run", error);
  if (parsed.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (parsed.positional.size() != 1)
    return usage_error("run", parsed.positional.empty()
                                  ? "missing MODEL"
                                  : "expected one MODEL, got " +
                                        std::to_string(parsed.positional.size()) + " arguments");
  int threads = 1;
  std::chrono::microseconds timeout{0};
  std::string output_dir;
  std::vector<std::string> input_args;
  for (const auto& [flag, value] : parsed.flags) {
    if (flag == "--threads" || flag == "-t") {
      if (!parse_int_flag(flag, value, 1, 256, &threads, &error)) return usage_error("run", error);
    } else if (flag == "--timeout") {
      if (!parse_timeout_flag(flag, value, &timeout, &error)) return usage_error("run", error);
    } else if (flag == "--output-dir" || flag == "-o") {
      if (value.empty()) return usage_error("run", "option " + flag + " needs a directory");
      output_dir = value;
    } else {
      input_args.push_back(value);
    }
  }

  const std::string& path = parsed.positional[0];
  std::shared_ptr<const Model> model;
  if (Status s = load_model(path, &model); !s.is_ok()) return runtime_error("run", s.message());

  // Match --input arguments to input indices.
  std::map<size_t, std::string> files;
  for (const std::string& a : input_args) {
    const size_t eq = a.find('=');
    std::string name, file;
    if (eq == std::string::npos) {
      if (model->num_inputs() != 1)
        return usage_error("run", "--input '" + a + "': write NAME=FILE.npy (the model has " +
                                      std::to_string(model->num_inputs()) + " inputs)");
      name = model->input(0).name;
      file = a;
    } else {
      name = a.substr(0, eq);
      file = a.substr(eq + 1);
    }
    size_t index = model->num_inputs();
    for (size_t i = 0; i < model->num_inputs(); ++i)
      if (model->input(i).name == name) index = i;
    if (index == model->num_inputs()) {
      std::string names;
      for (size_t i = 0; i < model->num_inputs(); ++i)
        names += (i ? ", '" : "'") + model->input(i).name + "'";
      return usage_error("run", "--input '" + a + "': the model has no input '" + name +
                                    "' (its inputs: " + names + ")");
    }
    if (file.empty()) return usage_error("run", "--input '" + a + "': missing the file name");
    if (!files.emplace(index, file).second)
      return usage_error("run", "--input: input '" + name + "' given twice");
  }

  std::unique_ptr<Session> session;
  if (Status s = Session::create(model, threads, &session); !s.is_ok())
    return runtime_error("run", s.message());
  session->set_run_timeout(timeout);
  for (size_t i = 0; i < model->num_inputs(); ++i) {
    const TensorDesc& desc = model->input(i);
    if (auto it = files.find(i); it != files.end()) {
      if (Status s = set_input_from_npy(session.get(), i, it->second); !s.is_ok())
        return runtime_error("run", s.message());
      continue;
    }
    const uint64_t seed = 1 + i;
    std::vector<uint8_t> container(session->input_bytes(i));
    fill_pseudo_random(desc, seed, container.data(), embedding_id_limit(*model, i));
    if (Status s = session->set_input(i, container.data(), container.size()); !s.is_ok())
      return runtime_error("run", s.message());
    std::printf("note: no file for input '%s'; using deterministic pseudo-random %s values (seed %llu)\n",
                desc.name.c_str(), std::string(dtype_name(desc.dtype)).c_str(),
                static_cast<unsigned long long>(seed));
  }

  if (Status s = session->run(); !s.is_ok()) return runtime_error("run", s.message());

  if (!output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(output_dir, ec);
    if (ec) return runtime_error("run", output_dir + ": cannot create the directory: " + ec.message());
  }
  for (size_t i = 0; i < model->num_outputs(); ++i) {
    const TensorDesc& desc = model->output(i);
    const void* data = session->output_data(i);
    std::vector<float> dequant;
    if (desc.quant.has_scale()) {
      dequant.resize(static_cast<size_t>(shape_elements(desc.shape)));
      if (Status s = dequantize_from_container(desc, data, dequant.data(), dequant.size());
          !s.is_ok())
        return runtime_error("run", s.message());
    }
    print_output(desc, data, dequant);
    if (output_dir.empty()) continue;
    const std::string stem = (std::filesystem::path(output_dir) / file_stem(desc.name)).string();
    if (Status s = write_npy(stem + ".npy", npy_type_of(desc.dtype), desc.shape, data); !s.is_ok())
      return runtime_error("run", s.message());
    std::printf("  wrote %s.npy\n", stem.c_str());
    if (dequant.empty()) continue;
    if (Status s = write_npy(stem + ".f32.npy", NpyType::kF4, desc.shape, dequant.data());
        !s.is_ok())
      return runtime_error("run", s.message());
    std::printf("  wrote %s.f32.npy\n", stem.c_str());
  }
  return kExitOk;
}

}  // namespace dyad::cli
