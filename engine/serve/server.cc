#include "engine/serve/server.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/serve/inference.h"
#include "engine/serve/infer_request.h"
#include "engine/serve/metrics.h"

namespace dyad::serve {

namespace {

using Clock = std::chrono::steady_clock;

// Per connection thread: when the current request started (headers read) and
// its inference latency, read by the logger once the reply is written.
thread_local Clock::time_point t_request_start;
thread_local bool t_started = false;
thread_local double t_infer_seconds = -1;
thread_local size_t t_body_bytes = 0;  // a content reader's body is not in Request::body

constexpr char kJson[] = "application/json";

std::string error_json(const std::string& message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(error_json(message), kJson);
}

class Server {
 public:
  Server(const ServeOptions& options, std::map<std::string, std::unique_ptr<ServedModel>> models)
      : options_(options), models_(std::move(models)) {
    for (const auto& [name, m] : models_) model_list_.push_back(m.get());
  }

  int run();

 private:
  ServedModel* find(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const auto it = models_.find(name);
    if (it != models_.end()) return it->second.get();
    std::string known;
    for (const auto& [n, m] : models_) known += (known.empty() ? "'" : ", '") + n + "'";
    reply_error(res, 404, "unknown model '" + name.substr(0, 64) + "' (served: " + known + ")");
    return nullptr;
  }
  // The served model a path is about ("" for none or an unknown one).
  std::string model_label(const std::string& path) const {
    const std::string prefix = "/v2/models/";
    if (path.compare(0, prefix.size(), prefix) != 0) return "";
    const std::string name = path.substr(prefix.size(), path.find('/', prefix.size()) - prefix.size());
    return models_.count(name) ? name : "";
  }
  void install_routes();
  void infer(const httplib::Request& req, const std::string& body, httplib::Response& res);
  void log(const httplib::Request& req, const httplib::Response& res);

  const ServeOptions& options_;
  std::map<std::string, std::unique_ptr<ServedModel>> models_;
  std::vector<const ServedModel*> model_list_;
  httplib::Server http_;
  Metrics metrics_;
  std::mutex log_mu_;
};

void Server::install_routes() {
  http_.Get("/v2/health/live", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"live\":true}", kJson);
  });
  http_.Get("/v2/health/ready", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"ready\":true}", kJson);  // the models load before the server listens
  });
  http_.Get("/v2", [](const httplib::Request&, httplib::Response& res) {
    const nlohmann::json j = {{"name", "dyad"},
                              {"version", dyad_version()},
                              {"extensions", {"binary_tensor_data"}}};
    res.set_content(j.dump(), kJson);
  });
  http_.Get(R"(/v2/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    if (ServedModel* m = find(req, res)) res.set_content(m->metadata_json(), kJson);
  });
  http_.Get(R"(/v2/models/([^/]+)/ready)",
            [this](const httplib::Request& req, httplib::Response& res) {
              if (ServedModel* m = find(req, res))
                res.set_content(nlohmann::json{{"name", m->name()}, {"ready", true}}.dump(), kJson);
            });
  http_.Get(R"(/v2/models/([^/]+)/infer)", [](const httplib::Request&, httplib::Response& res) {
    reply_error(res, 405, "infer takes POST");
  });
  // A content-reader handler, so that httplib does not apply its 8 KiB limit on
  // bodies sent as application/x-www-form-urlencoded (curl -d's default). httplib
  // refuses a Content-Length past --max-body-bytes (413); the receiver applies the
  // limit to chunked and compressed (gzip, brotli) bodies as they arrive.
  http_.Post(R"(/v2/models/([^/]+)/infer)",
             [this](const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& content_reader) {
               std::string body;
               bool too_large = false;
               const size_t limit = options_.max_body_bytes;
               if (!content_reader([&](const char* data, size_t n) {
                     if (n > limit - body.size()) {
                       too_large = true;
                       return false;
                     }
                     body.append(data, n);
                     return true;
                   })) {
                 if (too_large) res.status = 413;
                 if (res.status < 400) res.status = 400;  // a broken or timed-out body
                 res.set_header("Connection", "close");    // the rest of the body is unread
                 return;
               }
               infer(req, body, res);
             });
  http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(model_list_), "text/plain; version=0.0.4");
  });

  http_.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    t_request_start = Clock::now();
    t_started = true;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors httplib answers itself (no route, body too large, bad request) get a JSON body too.
  http_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    std::string message;
    if (res.status == 404) {
      message = "no route for ";
      message += req.method + " " + req.path.substr(0, 200);
    } else if (res.status == 413) {
      message = "the request body is larger than the server's limit of ";
      message += std::to_string(options_.max_body_bytes) + " bytes (--max-body-bytes)";
    } else {
      message = "HTTP " + std::to_string(res.status);
      message += " for ";
      message += req.method + " " + req.path.substr(0, 200);
    }
    res.set_content(error_json(message), kJson);
    return httplib::Server::HandlerResponse::Handled;
  }));
  // Out of memory for a huge body, or a bug: a JSON 500, and the server goes on.
  http_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        reply_error(res, 500, "internal error: " + what);
      });
  http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    log(req, res);
  });
}

void Server::infer(const httplib::Request& req, const std::string& body,
                   httplib::Response& res) {
  const Clock::time_point start = Clock::now();
  ServedModel* m = find(req, res);
  if (m == nullptr) return;
  std::optional<std::string> header_length;
  if (req.has_header("Inference-Header-Content-Length"))
    header_length = req.get_header_value("Inference-Header-Content-Length");
  InferRequest request;
  std::string error;
  InferReply reply;
  if (!parse_infer_request(*m, body, header_length, &request, &error)) {
    reply.status = 400;
    reply.body = std::move(error);
  } else {
    reply = run_inference(*m, request);
  }
  if (reply.status != 200) {
    reply_error(res, reply.status, reply.body);
    if (reply.status == 503) res.set_header("Retry-After", "1");
  } else if (reply.binary) {
    res.set_header("Inference-Header-Content-Length", std::to_string(reply.header_length));
    res.set_content(reply.body, "application/octet-stream");
  } else {
    res.set_content(reply.body, kJson);
  }
  if (reply.status == 200)
    t_infer_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  t_body_bytes = body.size();
}

void Server::log(const httplib::Request& req, const httplib::Response& res) {
  const double infer_seconds = t_infer_seconds;
  const double total = t_started ? std::chrono::duration<double>(Clock::now() - t_request_start).count() : 0;
  const size_t body_bytes = req.body.size() + t_body_bytes;
  t_infer_seconds = -1;
  t_body_bytes = 0;
  t_started = false;
  metrics_.record(model_label(req.path), res.status, infer_seconds);
  if (!options_.access_log) return;
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm;
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::lock_guard<std::mutex> lock(log_mu_);
  std::printf("%s %s:%d \"%s %.200s\" %d %zu %zu %.3fms\n", when, req.remote_addr.c_str(),
              req.remote_port, req.method.c_str(), req.path.c_str(), res.status, body_bytes,
              res.body.size(), total * 1e3);
  std::fflush(stdout);
}

int Server::run() {
  size_t threads = static_cast<size_t>(options_.http_threads);
  if (threads == 0) {
    threads = 8;
    for (size_t i = 0; i < models_.size(); ++i)
      threads += static_cast<size_t>(options_.pool.sessions) + options_.pool.max_queue;
    threads = std::min<size_t>(threads, 1024);
  }
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_payload_max_length(options_.max_body_bytes);
  const auto us = options_.io_timeout.count();
  http_.set_read_timeout(us / 1'000'000, us % 1'000'000);
  http_.set_write_timeout(us / 1'000'000, us % 1'000'000);
  http_.set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(us / 1'000'000)));
  http_.set_keep_alive_max_count(1000);
  http_.set_tcp_nodelay(true);
  int listen_fd = -1;
  http_.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  install_routes();

  const int port = options_.port == 0 ? http_.bind_to_any_port(options_.host)
                                      : (http_.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port < 0) {
    std::fprintf(stderr, "dyad serve: error: cannot listen on %s:%d\n", options_.host.c_str(),
                 options_.port);
    return 1;
  }
  // httplib listens with a backlog of 5; many clients connecting at once need more.
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);

  std::string models;
  for (const auto& [name, m] : models_) models += (models.empty() ? "" : ", ") + name + "=" + m->path();
  const std::string host = options_.host.find(':') != std::string::npos ? "[" + options_.host + "]"
                                                                        : options_.host;
  std::printf("dyad serve: listening on http://%s:%d (models: %s; %d session(s) x %d thread(s) "
              "each, queue %zu, %zu HTTP threads)\n",
              host.c_str(), port, models.c_str(), options_.pool.sessions, options_.pool.threads,
              options_.pool.max_queue, threads);
  std::fflush(stdout);

  // SIGTERM and SIGINT are blocked in every thread; this one waits for them.
  std::atomic<bool> finished{false};
  std::thread signals([this, &finished] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    const timespec tick{0, 100'000'000};
    while (!finished.load()) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig != SIGTERM && sig != SIGINT) continue;
      std::fprintf(stderr, "dyad serve: %s: no new connections; finishing the accepted requests\n",
                   sig == SIGTERM ? "SIGTERM" : "SIGINT");
      // stop() is a no-op until listen has begun: repeat until it has returned.
      while (!finished.load()) {
        http_.stop();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  });
  const bool ok = http_.listen_after_bind();  // returns once every accepted connection is done
  finished.store(true);
  signals.join();

  std::string summary;
  for (const auto& [code, n] : metrics_.totals_by_code()) {
    summary += summary.empty() ? "" : ", ";
    summary += std::to_string(n) + " x " + std::to_string(code);
  }
  std::fprintf(stderr, "dyad serve: stopped; answered %s\n", summary.empty() ? "nothing" : summary.c_str());
  return ok ? 0 : 1;
}

}  // namespace

bool valid_model_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

int run_server(const ServeOptions& options) {
  // Before any thread exists (sessions start theirs), so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::map<std::string, std::unique_ptr<ServedModel>> models;
  for (const ModelArg& a : options.models) {
    std::unique_ptr<ServedModel> m;
    std::string error;
    if (!ServedModel::load(a.name, a.path, options.load, options.pool, &m, &error)) {
      std::fprintf(stderr, "dyad serve: error: model '%s': %s\n", a.name.c_str(), error.c_str());
      return 1;
    }
    models.emplace(a.name, std::move(m));
  }
  Server server(options, std::move(models));
  return server.run();
}

}  // namespace dyad::serve
