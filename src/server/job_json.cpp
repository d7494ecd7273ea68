// What the API shows of a job, and the Prometheus metrics.
#include <sstream>

#include "atelier/studio_server.hpp"

namespace atelier::studio {
namespace {

// [{"color": "#ff0000", "style": 1}, {"color": "#00ff00", "model": "candy"}]: styles counted from 1, as uploaded.
nlohmann::json regions_json(const std::vector<JobRegion>& regions) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& region : regions) {
    nlohmann::json item = {{"color", region.color}};
    if (region.style >= 0)
      item["style"] = region.style + 1;
    else
      item["model"] = region.model;
    out.push_back(item);
  }
  return out;
}

nlohmann::json time_or_null(double seconds) { return seconds > 0 ? nlohmann::json(seconds) : nlohmann::json(nullptr); }

}  // namespace

nlohmann::json to_params(const JobSettings& settings) {
  return {{"model", settings.model},
          {"size", settings.size},
          {"strength", settings.strength},
          {"iterations", settings.iterations},
          {"keep_colors", settings.keep_colors},
          {"precision", settings.precision},
          {"styles", settings.styles},
          {"style_blend", settings.style_blend},
          {"mask", settings.mask},
          {"mask_pixels", settings.mask_pixels},
          {"regions", regions_json(settings.regions)},
          {"feather", settings.feather},
          {"style_pixels", settings.style_pixels},
          {"content_width", settings.content_width},
          {"content_height", settings.content_height},
          {"content_name", settings.content_name}};
}

JobSettings job_settings(const nlohmann::json& params) {
  JobSettings settings;
  settings.model = params.at("model");
  settings.size = params.at("size");
  settings.strength = params.at("strength");
  settings.iterations = params.at("iterations");
  settings.keep_colors = params.at("keep_colors");
  settings.precision = params.at("precision");
  settings.styles = params.at("styles");
  settings.style_blend = params.value("style_blend", std::vector<double>{});  // likewise
  settings.mask = params.value("mask", false);  // records from before masks
  settings.mask_pixels = params.value("mask_pixels", std::int64_t{0});
  if (params.contains("regions"))  // records from before colour regions have none
    for (const auto& region : params.at("regions"))
      settings.regions.push_back({region.at("color"), region.value("style", 0) - 1, region.value("model", "")});
  settings.feather = params.value("feather", 4.0);
  settings.style_pixels = params.value("style_pixels", std::int64_t{0});  // records from before it was kept
  settings.content_width = params.at("content_width");
  settings.content_height = params.at("content_height");
  settings.content_name = params.value("content_name", std::string());
  return settings;
}

nlohmann::json job_json(const JobView& view) {
  const JobRecord& job = view.job;
  const std::string base = "/api/v1/jobs/" + job.id;
  return {{"id", job.id},
          {"status", status_name(job.status)},
          {"method", job.method},
          {"params", job.params},
          {"created", time_or_null(job.created)},
          {"started", time_or_null(job.started)},
          {"finished", time_or_null(job.finished)},
          {"progress", job.progress},
          {"iteration", job.iteration},
          {"iterations", job.iterations},
          {"eta_seconds", view.eta_seconds >= 0 ? nlohmann::json(view.eta_seconds) : nlohmann::json(nullptr)},
          {"position", view.position},
          {"losses", job.losses},
          {"loss_history", job.loss_history},
          {"width", job.width},
          {"height", job.height},
          {"estimated_bytes", job.estimated_bytes},
          {"message", job.message},
          {"warnings", job.warnings},
          {"result_url", job.status == JobStatus::Done ? nlohmann::json(base + "/result") : nlohmann::json(nullptr)},
          {"content_url", base + "/content"}};
}

std::string prometheus_metrics(const StudioCounters& counters, const std::map<int, std::uint64_t>& responses_by_status,
                               double uptime_seconds) {
  std::ostringstream out;
  const auto metric = [&](const char* name, const char* type, const char* help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  };
  metric("atelier_jobs_submitted_total", "counter", "Jobs accepted since the server started.");
  out << "atelier_jobs_submitted_total " << counters.submitted << '\n';
  metric("atelier_jobs_ended_total", "counter", "Jobs that ended since the server started, by status.");
  for (const char* status : {"done", "failed", "cancelled", "interrupted"}) {
    const auto found = counters.ended.find(status);
    out << "atelier_jobs_ended_total{status=\"" << status << "\"} " << (found == counters.ended.end() ? 0 : found->second)
        << '\n';
  }
  metric("atelier_job_duration_seconds", "summary", "Run time of finished jobs, by method.");
  for (const char* method : {"fast", "magenta", "adain", "gatys"}) {
    const auto sum = counters.seconds_sum.find(method);
    const auto count = counters.seconds_count.find(method);
    out << "atelier_job_duration_seconds_sum{method=\"" << method << "\"} "
        << (sum == counters.seconds_sum.end() ? 0.0 : sum->second) << '\n'
        << "atelier_job_duration_seconds_count{method=\"" << method << "\"} "
        << (count == counters.seconds_count.end() ? 0 : count->second) << '\n';
  }
  const auto gauge = [&](const char* name, const char* help, auto value) {
    metric(name, "gauge", help);
    out << name << ' ' << value << '\n';
  };
  gauge("atelier_jobs_queued", "Jobs waiting for a worker.", counters.queued);
  gauge("atelier_jobs_running", "Jobs being painted.", counters.running);
  gauge("atelier_queue_capacity", "Most jobs that may wait (--queue).", counters.max_queue);
  gauge("atelier_workers", "Jobs that may run at once (--workers).", counters.workers);
  gauge("atelier_memory_reserved_bytes", "Estimated peak memory of the running jobs.", counters.reserved_bytes);
  gauge("atelier_memory_budget_bytes", "Memory the jobs may use together (--max-memory; 0: no limit).",
        counters.budget_bytes);
  metric("atelier_http_responses_total", "counter", "HTTP responses by status code.");
  for (const auto& [status, count] : responses_by_status)
    out << "atelier_http_responses_total{code=\"" << status << "\"} " << count << '\n';
  gauge("atelier_uptime_seconds", "Seconds since the server started.", uptime_seconds);
  return out.str();
}

}  // namespace atelier::studio
