#include "report.hpp"

#include <array>
#include <cstdio>
#include <type_traits>

namespace edulab {

nlohmann::json verdict_json(const Verdict& v, const Evidence& e, const RunFacts& facts) {
  nlohmann::json j;
  j["status"] = v.exit_status;
  j["outcome"] = to_string(v.outcome);
  j["source"] = v.outcome == Outcome::completed ? "guest" : "runner";
  j["reason"] = v.reason;
  j["excerpt"] = v.excerpt;
  j["arch"] = facts.arch;
  j["kernel"] = facts.kernel;
  j["accelerator"] = facts.accelerator;
  j["boot_seconds"] = facts.boot_seconds ? nlohmann::json(*facts.boot_seconds) : nullptr;
  j["total_seconds"] = facts.total_seconds;
  j["kernel_log"] = {{"records", e.kmsg_records},
                     {"lost", e.kmsg_lost},
                     {"task_dump_requested", e.task_dump_requested}};
  if (e.expect_gtest || !e.gtest_reports.empty()) {
    const auto s = summarize_gtest_reports(e.gtest_reports);
    nlohmann::json failed = nlohmann::json::array();
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& c : s.cases) {
      if (c.result == GtestCase::Result::failed) failed.push_back(c.full_name());
      if (c.result == GtestCase::Result::skipped) {
        const auto why = skip_allowance(c.full_name(), e.allowed_skips);
        skipped.push_back(
            {{"name", c.full_name()}, {"allowed", why.has_value()}, {"reason", why.value_or("")}});
      }
    }
    j["tests"] = {{"run", s.tests - s.skipped}, {"failed", s.failures},
                  {"skipped", s.skipped},       {"reports", s.files},
                  {"failed_tests", failed},     {"skipped_tests", skipped}};
  } else {
    j["tests"] = nullptr;
  }
  return j;
}

namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        // XML 1.0 has no place for other control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string seconds(double s) {
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.3f", s);
  return buf.data();
}

// ` key="value"`, the value escaped.
std::string attr(const char* key, const std::string& value) {
  std::string a = " ";
  a += key;
  a += "=\"";
  a += xml_escape(value);
  a += '"';
  return a;
}

template <typename Number>
requires std::is_arithmetic_v<Number> std::string attr(const char* key, Number value) {
  return attr(key, std::to_string(value));
}

}  // namespace

std::string junit_xml(const GtestSummary& s, const std::string& scenario) {
  // Suites in first-seen order, each with its cases.
  std::vector<std::pair<std::string, std::vector<const GtestCase*>>> suites;
  for (const auto& c : s.cases) {
    if (suites.empty() || suites.back().first != c.suite) {
      suites.emplace_back(c.suite, std::vector<const GtestCase*>{});
    }
    suites.back().second.push_back(&c);
  }
  double total = 0;
  for (const auto& c : s.cases)
    total += c.seconds;
  std::string x = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  x += "\n<testsuites" + attr("name", scenario) + attr("tests", s.cases.size()) +
       attr("failures", s.failures) + attr("skipped", s.skipped) + attr("time", seconds(total)) +
       ">\n";
  for (const auto& [suite, cases] : suites) {
    int failures = 0;
    int skipped = 0;
    double time = 0;
    for (const auto* c : cases) {
      failures += c->result == GtestCase::Result::failed ? 1 : 0;
      skipped += c->result == GtestCase::Result::skipped ? 1 : 0;
      time += c->seconds;
    }
    std::string name = scenario;
    name += '/';
    name += suite;
    x += "  <testsuite" + attr("name", name) + attr("tests", cases.size()) +
         attr("failures", failures) + attr("errors", 0) + attr("skipped", skipped) +
         attr("time", seconds(time)) + ">\n";
    for (const auto* c : cases) {
      x += "    <testcase" + attr("classname", name) + attr("name", c->name) +
           attr("time", seconds(c->seconds));
      if (c->result == GtestCase::Result::passed) {
        x += "/>\n";
        continue;
      }
      x += ">\n";
      if (c->result == GtestCase::Result::skipped) {
        x += "      <skipped/>\n";
      } else {
        for (const auto& f : c->failures) {
          x += "      <failure" + attr("message", f.substr(0, f.find('\n'))) + ">" + xml_escape(f) +
               "</failure>\n";
        }
      }
      x += "    </testcase>\n";
    }
    x += "  </testsuite>\n";
  }
  x += "</testsuites>\n";
  return x;
}

}  // namespace edulab
