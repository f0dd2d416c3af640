// edu-bench-report: renders edu-bench's JSON on the host (report.md, PNG
// plots, summary table) or validates it (--check).
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "edu-bench-report/cli.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    return edubench::report::run_cli(args, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "edu-bench-report: " << e.what() << '\n';
    return 1;
  }
}
