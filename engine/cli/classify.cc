// `dyad classify MODEL --images IDX[.gz] --labels IDX[.gz]`: classifies a whole
// image data set (IDX files, as Fashion-MNIST ships them) with the engine and
// reports top-1 accuracy, latency per image and throughput. With
// --expect-accuracy the run fails unless the count of correct images equals the
// model's recorded integer accuracy (metadata.accuracy.int_top1), which the
// independent integer simulator produced: the engine is bit-exact, so the two
// must agree exactly.
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/cli/cli.h"
#include "engine/core/checked_math.h"
#include "engine/exec/session.h"

namespace dyad::cli {

namespace {

constexpr char kHelp[] =
    "usage: dyad classify MODEL --images FILE --labels FILE [--threads N] [--limit N]\n"
    "                     [--expect-accuracy]\n"
    "  Runs the model on every image of an IDX image file (gzip or plain; uint8\n"
    "  pixels fed as the model's uint8 input) and compares the argmax of the\n"
    "  first output with the IDX label file. --threads N runs N single-thread\n"
    "  sessions side by side, each on its own share of the images.\n";

// A gzip file can expand a thousandfold: reading stops past 1 GiB (Fashion-MNIST's
// test images are 7.8 MB).
constexpr size_t kMaxIdxBytes = size_t{1} << 30;

bool read_gz_file(const std::string& path, std::vector<uint8_t>* out, std::string* error) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = "cannot open '" + path + "'";
    return false;
  }
  out->clear();
  uint8_t buffer[1 << 16];
  int n = 0;
  while ((n = gzread(f, buffer, sizeof(buffer))) > 0 && out->size() <= kMaxIdxBytes)
    out->insert(out->end(), buffer, buffer + n);
  if (out->size() > kMaxIdxBytes) {
    gzclose(f);
    *error = "'" + path + "' holds more than " + std::to_string(kMaxIdxBytes) +
             " bytes (uncompressed), more than an IDX data set this command reads";
    return false;
  }
  const bool ok = n == 0;
  gzclose(f);
  if (!ok) *error = "cannot read '" + path + "' (corrupt gzip data?)";
  return ok;
}

uint32_t big_endian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// IDX: magic 0x0000 08 <rank>, rank big-endian uint32 dims, then uint8 data.
bool parse_idx(const std::string& path, const std::vector<uint8_t>& bytes, size_t rank,
               std::vector<uint32_t>* dims, const uint8_t** data, std::string* error) {
  if (bytes.size() < 4 + 4 * rank || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 ||
      bytes[3] != rank) {
    *error = "'" + path + "' is not a uint8 IDX file of rank " + std::to_string(rank);
    return false;
  }
  std::optional<size_t> count = 1;
  dims->clear();
  for (size_t i = 0; i < rank; ++i) {
    dims->push_back(big_endian32(&bytes[4 + 4 * i]));
    if (count) count = checked_mul<size_t>(*count, dims->back());
  }
  if (!count || bytes.size() - 4 - 4 * rank != *count) {
    *error = "'" + path + "' holds " + std::to_string(bytes.size() - 4 - 4 * rank) +
             " data bytes, its header's dimensions say otherwise";
    return false;
  }
  *data = bytes.data() + 4 + 4 * rank;
  return true;
}

int argmax_of_output(const Session& session, const TensorDesc& out) {
  const size_t n = static_cast<size_t>(shape_elements(out.shape));
  int best = 0;
  int64_t best_value = INT64_MIN;
  for (size_t i = 0; i < n; ++i) {
    int64_t v = 0;
    const void* p = session.output_data(0);
    switch (out.dtype) {
      case DType::kInt8: case DType::kInt4: v = static_cast<const int8_t*>(p)[i]; break;
      case DType::kUint8: case DType::kUint4: v = static_cast<const uint8_t*>(p)[i]; break;
      case DType::kInt16: v = static_cast<const int16_t*>(p)[i]; break;
      case DType::kInt32: v = static_cast<const int32_t*>(p)[i]; break;
      case DType::kInt64: v = static_cast<const int64_t*>(p)[i]; break;
    }
    if (v > best_value) {  // first maximum wins, as numpy.argmax
      best_value = v;
      best = static_cast<int>(i);
    }
  }
  return best;
}

// One worker's share of the images: its own single-thread session.
struct ClassifyShard {
  size_t begin = 0, end = 0;
  std::unique_ptr<Session> session;
  size_t correct = 0;
  std::vector<double> latencies_ms;
  Status status;
};

void classify_shard(ClassifyShard& shard, const Model& model, const uint8_t* images,
                    const uint8_t* labels, size_t pixels) {
  shard.latencies_ms.reserve(shard.end - shard.begin);
  for (size_t i = shard.begin; i < shard.end; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = shard.session->set_input(0, images + i * pixels, pixels);
    if (s.is_ok()) s = shard.session->run();
    if (!s.is_ok()) {
      shard.status = s;
      return;
    }
    if (argmax_of_output(*shard.session, model.output(0)) == labels[i]) ++shard.correct;
    shard.latencies_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
}

}  // namespace

int classify_command(const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::string error;
  if (!parse_args(args, {"--images", "--labels", "--threads", "--limit"}, {"--expect-accuracy"},
                  &parsed, &error))
    return usage_error("classify", error);
  if (parsed.help) {
    std::fputs(kHelp, stdout);
    return kExitOk;
  }
  if (parsed.positional.size() != 1) return usage_error("classify", "expected one MODEL");
  std::string images_path, labels_path;
  int threads = 1, limit = 0;
  bool expect_accuracy = false;
  for (const auto& [flag, value] : parsed.flags) {
    if (flag == "--images") images_path = value;
    if (flag == "--labels") labels_path = value;
    if (flag == "--expect-accuracy") expect_accuracy = true;
    if (flag == "--threads" && !parse_int_flag(flag, value, 1, 256, &threads, &error))
      return usage_error("classify", error);
    if (flag == "--limit" && !parse_int_flag(flag, value, 1, INT32_MAX, &limit, &error))
      return usage_error("classify", error);
  }
  if (images_path.empty() || labels_path.empty())
    return usage_error("classify", "--images and --labels are required");

  std::shared_ptr<const Model> model;
  const Status st = load_model(parsed.positional[0], &model);
  if (!st.is_ok()) return runtime_error("classify", st.message());
  if (model->num_inputs() != 1 || model->input(0).dtype != DType::kUint8)
    return runtime_error("classify", "the model must have one uint8 input (pixels)");

  std::vector<uint8_t> image_bytes, label_bytes;
  std::vector<uint32_t> image_dims, label_dims;
  const uint8_t* images = nullptr;
  const uint8_t* labels = nullptr;
  if (!read_gz_file(images_path, &image_bytes, &error) ||
      !parse_idx(images_path, image_bytes, 3, &image_dims, &images, &error) ||
      !read_gz_file(labels_path, &label_bytes, &error) ||
      !parse_idx(labels_path, label_bytes, 1, &label_dims, &labels, &error))
    return runtime_error("classify", error);
  const size_t pixels = size_t{image_dims[1]} * image_dims[2];
  if (label_dims[0] != image_dims[0])
    return runtime_error("classify", "images and labels disagree on the count");
  if (static_cast<size_t>(shape_elements(model->input(0).shape)) != pixels)
    return runtime_error("classify", "the model's input takes " +
                                         std::to_string(shape_elements(model->input(0).shape)) +
                                         " values, an image has " + std::to_string(pixels));
  size_t count = image_dims[0];
  if (limit > 0) count = std::min(count, static_cast<size_t>(limit));

  // --threads N runs N single-thread sessions, each over its own block of
  // images: images are independent, and one session with an N-thread pool
  // would wake the other threads at every step for microseconds of work.
  std::vector<ClassifyShard> shards(static_cast<size_t>(threads));
  for (size_t t = 0; t < shards.size(); ++t) {
    shards[t].begin = count * t / shards.size();
    shards[t].end = count * (t + 1) / shards.size();
    const Status cs = Session::create(model, 1, &shards[t].session);
    if (!cs.is_ok()) return runtime_error("classify", cs.message());
  }
  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> workers;
    for (size_t t = 1; t < shards.size(); ++t)
      workers.emplace_back(classify_shard, std::ref(shards[t]), std::cref(*model), images, labels, pixels);
    classify_shard(shards[0], *model, images, labels, pixels);
    for (std::thread& w : workers) w.join();
  }
  size_t correct = 0;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(count);
  for (const ClassifyShard& shard : shards) {
    if (!shard.status.is_ok()) return runtime_error("classify", shard.status.message());
    correct += shard.correct;
    latencies_ms.insert(latencies_ms.end(), shard.latencies_ms.begin(), shard.latencies_ms.end());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf("%s: %zu images, %d thread%s: top-1 %.2f %% (%zu correct), latency p50 %.3f ms, "
              "throughput %.0f images/s\n",
              parsed.positional[0].c_str(), count, threads, threads == 1 ? "" : "s",
              100.0 * static_cast<double>(correct) / static_cast<double>(count), correct,
              latencies_ms[latencies_ms.size() / 2], static_cast<double>(count) / seconds);

  if (expect_accuracy) {
    const auto& meta = model->graph().metadata;
    if (!meta.contains("accuracy") || !meta["accuracy"].contains("int_top1") ||
        !meta["accuracy"]["int_top1"].is_number())
      return runtime_error("classify", "--expect-accuracy: the model has no "
                                       "metadata.accuracy.int_top1");
    const double recorded = meta["accuracy"]["int_top1"].get<double>();
    const auto expected_correct = static_cast<size_t>(std::llround(recorded * count));
    if (count != image_dims[0] || expected_correct != correct)
      return runtime_error("classify", "accuracy " + std::to_string(correct) + "/" +
                                           std::to_string(count) + " differs from the recorded " +
                                           std::to_string(recorded));
    std::printf("matches the recorded integer accuracy %.4f\n", recorded);
  }
  return kExitOk;
}

}  // namespace dyad::cli
