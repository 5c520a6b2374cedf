// A small metrics registry rendered in the Prometheus text exposition format 0.0.4: counters,
// gauges and histograms, each a family of series told apart by label values.
//
// Cheap on the request path: a series is found under a shared (reader) lock, created under the
// exclusive one only the first time its label values are seen, and then updated with relaxed
// atomics. Callers that know their label values in advance keep the returned reference, which
// stays valid for the registry's lifetime.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace estfleet::common::metrics {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void increment(std::uint64_t by = 1) noexcept { value_.fetch_add(by, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted per bucket (the upper bounds given, ascending) plus their sum; rendered
// cumulatively with the +Inf bucket, _sum and _count, as the format requires.
class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const noexcept { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

enum class Type { counter, gauge, histogram };

// One metric name with its HELP text, label names and series.
template <class Series>
class Family {
 public:
  // The series with these label values (one per label name), created at zero when new. Throws
  // std::invalid_argument when the number of values is not the number of label names.
  Series& with(const LabelValues& values);
  Series& get() { return with({}); }

  const std::string& name() const noexcept { return name_; }
  std::size_t label_count() const noexcept { return label_names_.size(); }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names, Type type,
         std::function<std::unique_ptr<Series>()> make);

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  Type type_;
  std::function<std::unique_ptr<Series>()> make_;
  mutable std::shared_mutex mutex_;
  std::map<LabelValues, std::unique_ptr<Series>> series_;  // rendered in label order
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Families are registered while the program sets up, before any concurrent use; series and their
// values may then be used and rendered from any thread.
class Registry {
 public:
  // Names follow [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* (not "__..."; a
  // histogram's not "le"). Throws std::invalid_argument for a bad or repeated name.
  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<double> bounds, std::vector<std::string> label_names = {});

  // Runs before every render(), e.g. to set gauges read from elsewhere. Must not throw.
  void on_collect(std::function<void()> collect);

  // Every family in registration order: "# HELP", "# TYPE", then its series. A family without
  // labels always shows its one series (at zero until used); one with labels shows the label
  // values seen so far, in label order.
  std::string render() const;

 private:
  void check_new_name(const std::string& name, const std::vector<std::string>& label_names,
                      bool histogram) const;

  std::vector<std::unique_ptr<CounterFamily>> counters_;
  std::vector<std::unique_ptr<GaugeFamily>> gauges_;
  std::vector<std::unique_ptr<HistogramFamily>> histograms_;
  // Registration order across the three kinds: (type, index into that kind's vector).
  std::vector<std::pair<Type, std::size_t>> order_;
  std::vector<std::function<void()>> collectors_;
};

// The exposition format's text forms, public for tests.
std::string escape_label_value(std::string_view value);  // \\, \" and \n
std::string escape_help(std::string_view help);          // \\ and \n
std::string format_value(double value);                  // shortest exact form, +Inf, -Inf, NaN

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace estfleet::common::metrics
