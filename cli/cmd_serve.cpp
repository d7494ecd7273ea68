// atelier serve: Atelier Studio, the web page and HTTP API for painting in a
// browser (see docs/STUDIO_API.md).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "atelier/memory_size.hpp"
#include "atelier/runtime.hpp"
#include "atelier/studio_painter.hpp"
#include "atelier/studio_server.hpp"
#include "adain_flags.hpp"
#include "commands.hpp"
#include "common_flags.hpp"
#include "interrupt.hpp"
#include "progress.hpp"

namespace atelier::cli {
namespace {

struct ServeArgs {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string data_dir;
  int workers = 1;
  int queue = 16;
  std::string token;
  std::string max_memory;
  std::string max_upload = "64M";
  long long max_pixels = 40'000'000;
  int max_size = 2048;
  std::string models_dir;
  std::string weights = "vgg19";
  AdainFlags adain;
  int http_threads = studio::ServerOptions{}.http_threads;
  int max_connections = studio::ServerOptions{}.max_connections;
  std::string cors_origin;
  std::vector<std::string> allowed_hosts;
  RuntimeFlags runtime;
  OutputFlags output_flags;
};

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

int run_serve(const ServeArgs& args) {
  Progress progress(args.output_flags.mode());
  std::mutex log_mutex;
  const auto log = [&](const std::string& line, const nlohmann::json& fields) {
    std::lock_guard<std::mutex> lock(log_mutex);
    progress.info(line, fields);
  };
  configure_runtime(args.runtime.threads);
  check_device(args.runtime.device);
  // From here SIGTERM and Ctrl-C only set a flag, watched below.
  InterruptHandler interrupt_handler;

  studio::JobStore store(args.data_dir);
  studio::PainterOptions painter_options{args.models_dir, args.weights, args.runtime.device};
  painter_options.adain_encoder = args.adain.encoder;
  painter_options.adain_decoder = args.adain.decoder;
  studio::StudioPainter painter(painter_options);
  studio::StudioOptions studio_options;
  studio_options.workers = args.workers;
  studio_options.max_queue = args.queue;
  studio_options.memory_budget = args.max_memory.empty() ? default_memory_budget() : parse_memory_size(args.max_memory);
  studio_options.on_ended = [&](const studio::JobRecord& job) {
    log("job " + job.id + " (" + job.method + ") " + studio::status_name(job.status) + " after " +
            format_duration(job.finished - job.started) + (job.message.empty() ? "" : ": " + job.message),
        {{"job", job.id}, {"status", studio::status_name(job.status)}, {"seconds", job.finished - job.started}});
  };

  studio::ServerOptions server_options;
  server_options.host = args.host;
  server_options.port = args.port;
  server_options.token = args.token;
  const std::int64_t max_upload = parse_memory_size(args.max_upload);
  // Four uploads may be held at once: keep that within reason.
  if (max_upload < (1 << 10) || max_upload > (std::int64_t{2} << 30))
    throw Error("--max-upload: " + args.max_upload + " is out of range [1K..2G]");
  server_options.max_upload_bytes = static_cast<std::size_t>(max_upload);
  server_options.limits.max_pixels = args.max_pixels;
  server_options.limits.max_size = args.max_size;
  // Jobs that name none get the precision --precision resolves to here.
  server_options.limits.default_precision = precision_name(parse_precision(args.runtime.precision, args.runtime.device));
  server_options.limits.auto_precision = precision_name(auto_precision(args.runtime.device).precision);
  server_options.http_threads = args.http_threads;
  server_options.max_connections = args.max_connections;
  server_options.max_connections_per_client = std::min(args.max_connections, server_options.max_connections_per_client);
  server_options.cors_origin = args.cors_origin;
  server_options.allowed_hosts = args.allowed_hosts;
  server_options.log = [&](const std::string& line) { log(line, {}); };

  studio::Studio studio(store, painter, studio_options);
  studio::StudioServer server(studio, server_options);
  const int port = server.bind();
  const std::string url = "http://" + (args.host.find(':') != std::string::npos ? "[" + args.host + "]" : args.host) +
                          ":" + std::to_string(port) + "/";
  if (args.output_flags.json) {
    std::cout << nlohmann::json{{"event", "listening"}, {"url", url}, {"port", port}}.dump() << std::endl;
  } else {
    std::cout << "Atelier Studio: listening on " << url << " (data in " << args.data_dir << ")" << std::endl;
  }
  if (!is_loopback(args.host) && args.token.empty())
    log("warning: listening on " + args.host + " without --token: anyone who can reach it can use this studio", {});

  // SIGTERM or Ctrl-C: stop the workers first (an optimisation checkpoints
  // and is marked interrupted, and watchers' event streams say so), then
  // stop serving.
  std::atomic<bool> serving{true};
  std::thread watcher([&] {
    while (!interrupt_requested() && serving) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (serving) log("stopping: running jobs checkpoint, queued jobs wait for the next start", {});
    studio.shutdown();
    // A stop before the server has started listening is lost: repeat it.
    while (serving) {
      server.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  server.run();
  serving = false;
  watcher.join();
  log("stopped", {});
  return kExitOk;
}

}  // namespace

Runner add_serve_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("serve", "Atelier Studio: a web page and HTTP API for painting in the browser");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--data-dir", args->data_dir, "Where jobs and their pictures are kept (created if missing)")->required();
  cmd->add_option("--host", args->host, "Address to listen on (loopback by default)")->capture_default_str();
  cmd->add_option("--port", args->port, "Port (0: any free port, printed at start)")->capture_default_str()->check(whole_number_in(0, 65535));
  cmd->add_option("--workers", args->workers, "Jobs painted at once")->capture_default_str()->check(whole_number_in(1, 64));
  cmd->add_option("--queue", args->queue, "Jobs that may wait; more are refused with 429")->capture_default_str()->check(whole_number_in(1, 10000));
  cmd->add_option("--token", args->token,
                  "Require 'Authorization: Bearer TOKEN' on the API (or set ATELIER_STUDIO_TOKEN, which ps does not show)")
      ->envname("ATELIER_STUDIO_TOKEN");
  cmd->add_option("--max-memory", args->max_memory,
                  "Memory the running jobs may use together, e.g. 8G (default: 90% of free memory)");
  cmd->add_option("--max-upload", args->max_upload, "Largest request body")->capture_default_str();
  cmd->add_option("--max-pixels", args->max_pixels, "Largest uploaded picture, in pixels")
      ->capture_default_str()->check(whole_number_in(1, 1'000'000'000));
  cmd->add_option("--max-size", args->max_size, "Largest longest side of a result")->capture_default_str()->check(whole_number_in(64, 16384));
  add_models_dir_flag(cmd, &args->models_dir, "Directory searched first for styles and weights");
  cmd->add_option("--weights", args->weights, "Feature network for optimisation jobs")->capture_default_str();
  add_adain_network_flags(cmd, &args->adain);
  add_precision_flag(cmd, &args->runtime, "Default precision of jobs: auto (bf16 on CPUs with AMX-BF16 and GPUs), fp32 or bf16");
  add_threads_and_device_flags(cmd, &args->runtime, "CPU threads for painting (0: all cores)");
  cmd->add_option("--http-threads", args->http_threads,
                  "Threads running request handlers (connections need none: one event loop serves them all)")
      ->capture_default_str()->check(whole_number_in(1, 256));
  cmd->add_option("--max-connections", args->max_connections, "Open connections at once; more are refused with 503")
      ->capture_default_str()->check(whole_number_in(16, 100000));
  cmd->add_option("--cors-origin", args->cors_origin, "Allow this web origin to call the API (CORS is off by default)");
  cmd->add_option("--allowed-host", args->allowed_hosts,
                  "A host name the studio answers to besides its IP addresses and localhost (repeatable; "
                  "without --token, other Host headers are refused, against DNS rebinding)");
  add_output_flags(cmd, &args->output_flags, "Log as JSON lines on stdout", "Log nothing but errors");
  return [args] { return run_serve(*args); };
}

}  // namespace atelier::cli
