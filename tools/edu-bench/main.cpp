// edu-bench: in-guest benchmark of the edu driver; prints one JSON document.
#include <fstream>
#include <iostream>

#include "edu-bench/bench.hpp"
#include "edu-bench/options.hpp"

namespace {

int run(int argc, char** argv) {
  const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  const edubench::ParseResult parsed = edubench::parse_bench_args(args, std::cout, std::cerr);
  if (!parsed.options) return parsed.exit_code;
  const edubench::BenchOptions& o = *parsed.options;

  const edubench::BenchReport report =
      edubench::run_bench(o, edu::DiscoveryOptions::from_environment());
  const std::string text =
      report.document.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (o.output == "-") {
    std::cout << text << std::flush;
  } else {
    std::ofstream out(o.output);
    out << text;
    if (!out.flush()) {
      std::cerr << "edu-bench: write " << o.output << ": failed — check the path and free space\n";
      return 1;
    }
    std::cerr << "edu-bench: wrote " << o.output << '\n';
  }
  for (const auto& e : report.document["errors"])
    std::cerr << "edu-bench: " << e.value("section", "?") << ": " << e.value("message", "?")
              << '\n';
  return report.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "edu-bench: " << e.what() << '\n';
    return 1;
  }
}
