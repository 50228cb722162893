// PrometheusText: builds a Prometheus text exposition (format 0.0.4): for
// each metric family a "# HELP" and a "# TYPE" line, then its samples
// "name{label="value",...} number". Label values and help texts are escaped
// as the format requires (backslash, double quote and newline in label
// values; backslash and newline in help).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rvmr::remote_log {

class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

  // Starts a family: `type` is "counter" or "gauge". Its samples follow.
  void Family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of the current family (for a counter, name ends in _total).
  void Sample(std::string_view name, const Labels& labels, uint64_t value);
  void Sample(std::string_view name, uint64_t value) { Sample(name, {}, value); }
  // A family with its one unlabelled sample.
  void Single(std::string_view name, std::string_view type, std::string_view help,
              uint64_t value);

  const std::string& text() const { return out_; }

  static std::string EscapeLabelValue(std::string_view v);
  static std::string EscapeHelp(std::string_view v);

 private:
  std::string out_;
};

}  // namespace rvmr::remote_log
