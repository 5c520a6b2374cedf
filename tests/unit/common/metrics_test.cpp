#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace estfleet::common::metrics {
namespace {

bool contains_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsFormat, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)" + std::string("\nd")), R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_label_value("plain-value_1"), "plain-value_1");
  // HELP escapes backslash and newline only; a quote stays as it is.
  EXPECT_EQ(escape_help("say \"hi\"\\\nbye"), R"(say "hi"\\\nbye)");
}

TEST(MetricsFormat, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(-1.25), "-1.25");
  // The shortest form that reads back exactly, as Go's strconv 'g' would write it.
  EXPECT_EQ(format_value(1712345678.5), "1712345678.5");
  EXPECT_EQ(format_value(1.7e9), "1.7e+09");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(MetricsRegistry, RendersCountersWithHelpTypeAndEscapedLabels) {
  Registry registry;
  auto& requests = registry.counter("app_requests_total", "Requests\nby path.", {"path", "code"});
  requests.with({"/a\"b", "200"}).increment();
  requests.with({"/a\"b", "200"}).increment(2);
  requests.with({"C:\\x", "404"}).increment();
  const auto text = registry.render();
  EXPECT_TRUE(contains_line(text, R"(# HELP app_requests_total Requests\nby path.)")) << text;
  EXPECT_TRUE(contains_line(text, "# TYPE app_requests_total counter")) << text;
  EXPECT_TRUE(contains_line(text, R"(app_requests_total{path="/a\"b",code="200"} 3)")) << text;
  EXPECT_TRUE(contains_line(text, R"(app_requests_total{path="C:\\x",code="404"} 1)")) << text;
  EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsRegistry, UnlabeledSeriesShowFromTheStartAndLabeledOnesOnceSeen) {
  Registry registry;
  registry.counter("plain_total", "A plain counter.");
  registry.counter("labeled_total", "A labeled counter.", {"kind"});
  registry.gauge("level", "A gauge.").get().set(1.5);
  const auto text = registry.render();
  EXPECT_TRUE(contains_line(text, "plain_total 0")) << text;
  EXPECT_TRUE(contains_line(text, "# TYPE labeled_total counter")) << text;
  EXPECT_EQ(text.find("labeled_total{"), std::string::npos) << text;
  EXPECT_TRUE(contains_line(text, "# TYPE level gauge")) << text;
  EXPECT_TRUE(contains_line(text, "level 1.5")) << text;
}

TEST(MetricsRegistry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  auto& latency = registry.histogram("op_seconds", "Latency.", {0.125, 0.5, 1}, {"op"});
  auto& enroll = latency.with({"enroll"});
  enroll.observe(0.0625);
  enroll.observe(0.125);  // le is inclusive: counts in the 0.125 bucket
  enroll.observe(0.25);
  enroll.observe(0.75);
  enroll.observe(4);
  const auto text = registry.render();
  EXPECT_TRUE(contains_line(text, "# TYPE op_seconds histogram")) << text;
  EXPECT_TRUE(contains_line(text, R"(op_seconds_bucket{op="enroll",le="0.125"} 2)")) << text;
  EXPECT_TRUE(contains_line(text, R"(op_seconds_bucket{op="enroll",le="0.5"} 3)")) << text;
  EXPECT_TRUE(contains_line(text, R"(op_seconds_bucket{op="enroll",le="1"} 4)")) << text;
  EXPECT_TRUE(contains_line(text, R"(op_seconds_bucket{op="enroll",le="+Inf"} 5)")) << text;
  EXPECT_TRUE(contains_line(text, R"(op_seconds_sum{op="enroll"} 5.1875)")) << text;
  EXPECT_TRUE(contains_line(text, R"(op_seconds_count{op="enroll"} 5)")) << text;
  // The buckets come in ascending order, +Inf last, before _sum and _count.
  EXPECT_LT(text.find("le=\"0.125\""), text.find("le=\"0.5\""));
  EXPECT_LT(text.find("le=\"1\""), text.find("le=\"+Inf\""));
  EXPECT_LT(text.find("le=\"+Inf\""), text.find("op_seconds_sum"));
}

TEST(MetricsRegistry, UnlabeledHistogramRendersZeroBuckets) {
  Registry registry;
  registry.histogram("idle_seconds", "Nothing yet.", {1, 2});
  const auto text = registry.render();
  EXPECT_TRUE(contains_line(text, R"(idle_seconds_bucket{le="1"} 0)")) << text;
  EXPECT_TRUE(contains_line(text, R"(idle_seconds_bucket{le="+Inf"} 0)")) << text;
  EXPECT_TRUE(contains_line(text, "idle_seconds_sum 0")) << text;
  EXPECT_TRUE(contains_line(text, "idle_seconds_count 0")) << text;
}

TEST(MetricsRegistry, CollectorsRunBeforeEachRender) {
  Registry registry;
  auto& gauge = registry.gauge("things", "Things.", {"status"});
  int scrapes = 0;
  registry.on_collect([&] {
    ++scrapes;
    gauge.with({"active"}).set(scrapes * 10);
  });
  EXPECT_TRUE(contains_line(registry.render(), R"(things{status="active"} 10)"));
  EXPECT_TRUE(contains_line(registry.render(), R"(things{status="active"} 20)"));
}

TEST(MetricsRegistry, RefusesBadNamesAndLabelCounts) {
  Registry registry;
  EXPECT_THROW(registry.counter("9lives", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(registry.counter("ok_total", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.counter("ok_total", "x", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "x", {1}, {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "x", {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.histogram("h", "x", {}), std::invalid_argument);
  auto& family = registry.counter("ns:ok_total", "x", {"a"});
  EXPECT_THROW(registry.gauge("ns:ok_total", "again"), std::invalid_argument);
  EXPECT_THROW(family.with({}), std::invalid_argument);
  EXPECT_THROW(family.with({"1", "2"}), std::invalid_argument);
}

TEST(MetricsRegistry, CountsFromManyThreads) {
  Registry registry;
  auto& family = registry.counter("hits_total", "Hits.", {"worker"});
  auto& latency = registry.histogram("lat_seconds", "Latency.", {0.5});
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&family, &latency, t] {
      for (int i = 0; i < 1000; ++i) {
        family.with({std::to_string(t % 2)}).increment();
        latency.get().observe(0.25);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(family.with({"0"}).value(), 2000u);
  EXPECT_EQ(family.with({"1"}).value(), 2000u);
  const auto snap = latency.get().snapshot();
  EXPECT_EQ(snap.cumulative.back(), 4000u);
  EXPECT_DOUBLE_EQ(snap.sum, 1000.0);
}

}  // namespace
}  // namespace estfleet::common::metrics
