#include "common/metrics.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <mutex>
#include <stdexcept>

namespace estfleet::common::metrics {
namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) {
    return false;
  }
  const auto head = [allow_colon](char c) {
    return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' ||
           (allow_colon && c == ':');
  };
  const auto tail = [&head](char c) {
    return head(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
  };
  return head(name.front()) && std::all_of(name.begin() + 1, name.end(), tail);
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::counter:
      return "counter";
    case Type::gauge:
      return "gauge";
    case Type::histogram:
      return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` or "" without labels; `extra` (e.g. le="0.5") comes last.
std::string label_text(const std::vector<std::string>& names, const LabelValues& values,
                       const std::string& extra = {}) {
  if (names.empty() && extra.empty()) {
    return {};
  }
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) {
      out += ',';
    }
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra.empty()) {
    out += (names.empty() ? "" : ",") + extra;
  }
  return out + "}";
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  char buffer[64];
  const auto [end, ec] = std::to_chars(std::begin(buffer), std::end(buffer), value);
  return ec == std::errc() ? std::string(buffer, end) : std::string("NaN");
}

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::observe(double value) noexcept {
  // The first bucket whose upper bound holds the value (le: less than or equal); else +Inf.
  const auto index = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.cumulative.push_back(running);
  }
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

template <class Series>
Family<Series>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       Type type, std::function<std::unique_ptr<Series>()> make)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      type_(type),
      make_(std::move(make)) {}

template <class Series>
Series& Family<Series>::with(const LabelValues& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + " takes " +
                                std::to_string(label_names_.size()) + " label value(s), not " +
                                std::to_string(values.size()));
  }
  {
    const std::shared_lock lock(mutex_);
    if (const auto found = series_.find(values); found != series_.end()) {
      return *found->second;
    }
  }
  const std::unique_lock lock(mutex_);
  auto& slot = series_[values];
  if (!slot) {
    slot = make_();
  }
  return *slot;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

namespace {

// A family without labels has exactly one series: made now, so it renders (at zero) from the
// start.
template <class Series>
Family<Series>& with_default_series(Family<Series>& family) {
  if (family.label_count() == 0) {
    family.get();
  }
  return family;
}

}  // namespace

void Registry::check_new_name(const std::string& name, const std::vector<std::string>& label_names,
                              bool histogram) const {
  if (!valid_name(name, true)) {
    throw std::invalid_argument("'" + name + "' is not a valid metric name");
  }
  for (const auto& label : label_names) {
    if (!valid_name(label, false) || label.starts_with("__") || (histogram && label == "le")) {
      throw std::invalid_argument("'" + label + "' is not a valid label name for metric " + name);
    }
  }
  const auto taken = [&name](const auto& families) {
    return std::any_of(families.begin(), families.end(),
                       [&name](const auto& family) { return family->name() == name; });
  };
  if (taken(counters_) || taken(gauges_) || taken(histograms_)) {
    throw std::invalid_argument("metric " + name + " is registered twice");
  }
}

CounterFamily& Registry::counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names) {
  check_new_name(name, label_names, false);
  counters_.push_back(std::unique_ptr<CounterFamily>(
      new CounterFamily(name, help, std::move(label_names), Type::counter,
                        [] { return std::make_unique<Counter>(); })));
  order_.emplace_back(Type::counter, counters_.size() - 1);
  return with_default_series(*counters_.back());
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names) {
  check_new_name(name, label_names, false);
  gauges_.push_back(std::unique_ptr<GaugeFamily>(new GaugeFamily(
      name, help, std::move(label_names), Type::gauge, [] { return std::make_unique<Gauge>(); })));
  order_.emplace_back(Type::gauge, gauges_.size() - 1);
  return with_default_series(*gauges_.back());
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     std::vector<double> bounds,
                                     std::vector<std::string> label_names) {
  check_new_name(name, label_names, true);
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
      std::any_of(bounds.begin(), bounds.end(), [](double b) { return !std::isfinite(b); })) {
    throw std::invalid_argument("the buckets of histogram " + name +
                                " must be finite, strictly ascending and at least one");
  }
  histograms_.push_back(std::unique_ptr<HistogramFamily>(
      new HistogramFamily(name, help, std::move(label_names), Type::histogram,
                          [bounds] { return std::make_unique<Histogram>(bounds); })));
  order_.emplace_back(Type::histogram, histograms_.size() - 1);
  return with_default_series(*histograms_.back());
}

void Registry::on_collect(std::function<void()> collect) {
  collectors_.push_back(std::move(collect));
}

namespace {

template <class Series, class Write>
void render_family(const Family<Series>& family, const std::string& help,
                   const std::vector<std::string>& label_names, Type type,
                   const std::map<LabelValues, std::unique_ptr<Series>>& series, Write write_series,
                   std::string& out) {
  out += "# HELP " + family.name() + " " + escape_help(help) + "\n";
  out += "# TYPE " + family.name() + " " + std::string(type_name(type)) + "\n";
  for (const auto& [values, one] : series) {
    write_series(label_names, values, *one, out);
  }
}

}  // namespace

std::string Registry::render() const {
  for (const auto& collect : collectors_) {
    collect();
  }
  std::string out;
  for (const auto& [type, index] : order_) {
    switch (type) {
      case Type::counter: {
        const auto& family = *counters_[index];
        const std::shared_lock lock(family.mutex_);
        render_family(
            family, family.help_, family.label_names_, type, family.series_,
            [&family](const auto& names, const LabelValues& values, const Counter& counter,
                      std::string& text) {
              text += family.name() + label_text(names, values) + " " +
                      std::to_string(counter.value()) + "\n";
            },
            out);
        break;
      }
      case Type::gauge: {
        const auto& family = *gauges_[index];
        const std::shared_lock lock(family.mutex_);
        render_family(
            family, family.help_, family.label_names_, type, family.series_,
            [&family](const auto& names, const LabelValues& values, const Gauge& gauge,
                      std::string& text) {
              text += family.name() + label_text(names, values) + " " +
                      format_value(gauge.value()) + "\n";
            },
            out);
        break;
      }
      case Type::histogram: {
        const auto& family = *histograms_[index];
        const std::shared_lock lock(family.mutex_);
        const auto write = [&family](const auto& names, const LabelValues& values,
                                     const Histogram& histogram, std::string& text) {
          const auto snap = histogram.snapshot();
          const auto& bounds = histogram.bounds();
          for (std::size_t i = 0; i <= bounds.size(); ++i) {
            const std::string le =
                "le=\"" + (i < bounds.size() ? format_value(bounds[i]) : std::string("+Inf")) +
                "\"";
            text += family.name() + "_bucket" + label_text(names, values, le) + " " +
                    std::to_string(snap.cumulative[i]) + "\n";
          }
          text += family.name() + "_sum" + label_text(names, values) + " " +
                  format_value(snap.sum) + "\n";
          text += family.name() + "_count" + label_text(names, values) + " " +
                  std::to_string(snap.cumulative.back()) + "\n";
        };
        render_family(family, family.help_, family.label_names_, type, family.series_, write, out);
        break;
      }
    }
  }
  return out;
}

}  // namespace estfleet::common::metrics
