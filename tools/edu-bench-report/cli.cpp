#include "edu-bench-report/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spawn.h>

#include "edu-bench-report/report.hpp"

namespace edubench::report {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kProg = "edu-bench-report";

/// posix_spawn file actions, destroyed on scope exit.
class FileActions {
 public:
  FileActions() : ok_(::posix_spawn_file_actions_init(&fa_) == 0) {}
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  ~FileActions() {
    if (ok_) ::posix_spawn_file_actions_destroy(&fa_);
  }
  [[nodiscard]] bool ok() const { return ok_; }
  posix_spawn_file_actions_t* get() { return &fa_; }

 private:
  posix_spawn_file_actions_t fa_{};
  bool ok_ = false;
};

std::optional<std::string> read_file(const fs::path& p, std::string& why) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    why = std::generic_category().message(errno);
    return std::nullopt;
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_file(const fs::path& p, const std::string& text, std::ostream& err) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) {
    err << kProg << ": write " << p.string() << ": " << std::generic_category().message(errno)
        << " — check the directory and free space\n";
    return false;
  }
  return true;
}

/// Parses @p path; prints why not on @p err.
std::optional<json> load(const fs::path& path, std::string& text, std::ostream& err) {
  std::string why;
  auto t = read_file(path, why);
  if (!t) {
    err << kProg << ": read " << path.string() << ": " << why
        << " — did the bench run write its results there?\n";
    return std::nullopt;
  }
  text = std::move(*t);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    err << kProg << ": " << path.string() << ": not valid JSON: " << e.what()
        << " — truncated bench output?\n";
    return std::nullopt;
  }
}

int check(const fs::path& path, std::ostream& out, std::ostream& err) {
  std::string text;
  const auto doc = load(path, text, err);
  if (!doc) return 1;
  const auto problems = check_document(*doc);
  if (!problems.empty()) {
    err << kProg << ": " << path.string() << ": " << problems.size()
        << " problem(s) with the edu-bench document:\n";
    for (const auto& p : problems)
      err << "  " << p << '\n';
    return 1;
  }
  const Report r = analyse(*doc);
  out << path.string() << ": valid " << kSchema << " document: " << r.dma.size() << " DMA series, "
      << r.scaling.size() << " scaling entries, " << r.latency.size() << " latency series, "
      << r.contention.size() << " contention entries\n";
  return 0;
}

int render(const fs::path& input, const fs::path& out_dir, bool plots, const std::string& gnuplot,
           const std::vector<std::string>& notes, std::ostream& out, std::ostream& err) {
  std::string text;
  const auto doc = load(input, text, err);
  if (!doc) return 1;
  const auto problems = check_document(*doc);

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    err << kProg << ": create " << out_dir.string() << ": " << ec.message() << '\n';
    return 1;
  }
  const fs::path results = out_dir / "results.json";
  if (!fs::exists(results) || !fs::equivalent(results, input, ec))
    if (!write_file(results, text, err)) return 1;

  Report r = analyse(*doc);
  r.notes = notes;
  std::vector<Figure> figs;
  int status = 0;
  if (plots) {
    figs = figures(r);
    const auto terminal = png_terminal(gnuplot);
    const fs::path data_dir = out_dir / "plot-data";
    fs::create_directories(data_dir, ec);
    if (!terminal) {
      err << kProg << ": cannot run `" << gnuplot
          << "` with a png or pngcairo terminal — install gnuplot-nox (scripts/deps.sh) or "
             "pass --no-plots\n";
      figs.clear();
      status = 1;
    } else if (ec) {
      err << kProg << ": create " << data_dir.string() << ": " << ec.message() << '\n';
      return 1;
    } else {
      const PlotFiles pf = plot_files(r, *terminal, data_dir.string(), out_dir.string());
      for (const auto& [name, contents] : pf.data)
        if (!write_file(data_dir / name, contents, err)) return 1;
      const fs::path script = data_dir / "plots.gp";
      if (!write_file(script, pf.script, err)) return 1;
      const fs::path log = data_dir / "gnuplot.log";
      fs::remove(log, ec);
      const int rc = run_program({gnuplot, script.string()}, log);
      std::string why;
      const std::string output = read_file(log, why).value_or("");
      if (rc != 0) {
        err << kProg << ": gnuplot failed (status " << rc << ") on " << script.string() << ":\n"
            << output;
        figs.clear();
        status = 1;
      } else {
        // Keep only figures that were really written.
        std::erase_if(figs, [&](const Figure& f) { return !fs::exists(out_dir / f.file); });
      }
    }
  }
  if (!write_file(out_dir / "report.md", markdown(r, figs), err)) return 1;
  out << summary_table(r);
  out << "\n" << kProg << ": wrote " << (out_dir / "report.md").string();
  for (const Figure& f : figs)
    out << ", " << f.file;
  out << " (raw samples: " << results.string() << ")\n";
  if (!problems.empty()) {
    err << kProg << ": " << input.string() << ": " << problems.size()
        << " problem(s) with the edu-bench document:\n";
    for (const auto& p : problems)
      err << "  " << p << '\n';
    status = 1;
  }
  return status;
}

}  // namespace

int run_program(const std::vector<std::string>& argv, const fs::path& log) {
  if (argv.empty()) return -1;
  FileActions fa;
  if (!fa.ok()) return -1;
  ::posix_spawn_file_actions_addopen(fa.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(fa.get(), STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
  ::posix_spawn_file_actions_adddup2(fa.get(), STDOUT_FILENO, STDERR_FILENO);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  cargv.reserve(args.size() + 1);
  for (auto& a : args)
    cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = 0;
  if (::posix_spawnp(&pid, cargv[0], fa.get(), nullptr, cargv.data(), environ) != 0) return -1;
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::optional<std::string> png_terminal(const std::string& gnuplot) {
  for (const char* t : {"pngcairo", "png"})
    if (run_program({gnuplot, "-e", std::string("set terminal ") + t}, "/dev/null") == 0) return t;
  return std::nullopt;
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string check_file;
  std::string input;
  std::string out_dir;
  std::string gnuplot = "gnuplot";
  bool no_plots = false;
  std::vector<std::string> notes;

  CLI::App app{
      "edu-bench-report — renders an edu-bench JSON document (schema edu-bench/1) into "
      "results.json, PNG plots (gnuplot) and report.md, and prints the summary table; or, "
      "with --check, only validates the document.",
      kProg};
  app.footer(
      "Exit codes: 0 ok; 1 malformed or unreadable document, errors recorded by the bench, or "
      "plotting failed; 2 usage.");
  auto* chk = app.add_option("--check", check_file,
                             "Validate FILE's shape (required keys and sections, finite numbers, "
                             "non-empty samples) and exit");
  auto* in = app.add_option("input", input, "edu-bench JSON document to render");
  app.add_option("-o,--output-dir", out_dir,
                 "Directory for results.json, *.png, report.md (default: the input's directory)");
  app.add_flag("--no-plots", no_plots, "Do not run gnuplot");
  app.add_option("--gnuplot", gnuplot, "gnuplot program (default: gnuplot from PATH)");
  app.add_option("--note", notes,
                 "A line about the run for report.md, e.g. the host's load (repeatable)");
  chk->excludes(in);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
    if (chk->count() == 0 && in->count() == 0)
      throw CLI::RequiredError("an INPUT document or --check FILE");
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::replace(msg.begin(), msg.end(), '\n', ' ');
    err << kProg << ": " << msg << " — run `" << kProg << " --help`\n";
    return 2;
  }
  if (chk->count() > 0) return check(check_file, out, err);
  const fs::path dir = out_dir.empty() ? fs::path(input).parent_path() : fs::path(out_dir);
  return render(input, dir.empty() ? fs::path(".") : dir, !no_plots, gnuplot, notes, out, err);
}

}  // namespace edubench::report
