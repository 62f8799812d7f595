//===- CommandLine.h - strict options for fd's GPU-host tools ---*- C++ -*-===//
//
// One small argument parser for fd-bench and fd-tune (the GPU-host tools,
// which link no LLVM and so cannot use llvm::cl): every option is declared
// once with its value's range and its help, so that
//   - `--help` lists every option with its default and exits 0;
//   - `--opt value` and `--opt=value` both work;
//   - a number is parsed whole and range-checked: `--runs abc`, `--runs 0`
//     or `--runs 5x` is an error naming the option, never a silent default;
//   - an unknown option or a missing value is an error (exit 2).
// Header-only, the standard library only.
//
//===----------------------------------------------------------------------===//
#ifndef FD_HARNESS_COMMANDLINE_H
#define FD_HARNESS_COMMANDLINE_H

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fd::harness {

class CommandLine {
public:
  CommandLine(std::string tool, std::string usage, std::string summary)
      : tool(std::move(tool)), usage(std::move(usage)),
        summary(std::move(summary)) {}

  /// A switch without a value.
  void flag(const std::string &name, bool &out, const std::string &help) {
    add(name, "", help, out ? "on" : "off", false, [&out](const std::string &) {
      out = true;
      return std::string();
    });
  }
  /// A string; \p out's current value is the default.
  void text(const std::string &name, const std::string &valueName,
            std::string &out, const std::string &help) {
    add(name, valueName, help, out.empty() ? "none" : out, false,
        [&out](const std::string &v) {
          out = v;
          return std::string();
        });
  }
  /// A repeatable string: every occurrence is appended.
  void list(const std::string &name, const std::string &valueName,
            std::vector<std::string> &out, const std::string &help) {
    add(name, valueName, help, "none", true, [&out](const std::string &v) {
      out.push_back(v);
      return std::string();
    });
  }
  /// One of \p allowed.
  void choice(const std::string &name, std::string &out,
              std::vector<std::string> allowed, const std::string &help) {
    std::string names;
    for (const std::string &a : allowed)
      names += (names.empty() ? "" : "|") + a;
    add(name, names, help, out, false,
        [&out, allowed, names](const std::string &v) {
          for (const std::string &a : allowed)
            if (v == a) {
              out = v;
              return std::string();
            }
          return "'" + v + "' is not one of " + names;
        });
  }
  /// An integer in [lo, hi].
  void integer(const std::string &name, int64_t &out, int64_t lo, int64_t hi,
               const std::string &help) {
    add(name, "N", help, std::to_string(out), false,
        [&out, lo, hi](const std::string &v) {
          errno = 0;
          char *end = nullptr;
          long long x = std::strtoll(v.c_str(), &end, 10);
          if (v.empty() || errno != 0 || !end || *end != 0 || x < lo || x > hi)
            return "'" + v + "' is not an integer in [" + std::to_string(lo) +
                   ", " + std::to_string(hi) + "]";
          out = x;
          return std::string();
        });
  }
  /// A finite number in [lo, hi].
  void number(const std::string &name, double &out, double lo, double hi,
              const std::string &help, const std::string &dflt = "") {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", out);
    add(name, "X", help, dflt.empty() ? text : dflt, false,
        [&out, lo, hi](const std::string &v) {
          errno = 0;
          char *end = nullptr;
          double x = std::strtod(v.c_str(), &end);
          if (v.empty() || errno != 0 || !end || *end != 0 ||
              !std::isfinite(x) || x < lo || x > hi) {
            char range[96];
            std::snprintf(range, sizeof(range), "[%g, %g]", lo, hi);
            return "'" + v + "' is not a number in " + range;
          }
          out = x;
          return std::string();
        });
  }
  /// The one positional argument (e.g. the bundle), if any.
  void positional(const std::string &valueName, std::string &out,
                  const std::string &help) {
    positionalName = valueName;
    positionalHelp = help;
    positionalOut = &out;
  }

  /// Parses argv. Returns nullopt to go on, or the exit code: 0 after
  /// --help, 2 after an error (printed to stderr with the usage line).
  std::optional<int> parse(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        printHelp(stdout);
        return 0;
      }
      if (arg.size() < 2 || arg[0] != '-') {
        if (!positionalOut || positionalSeen)
          return error("unexpected argument '" + arg + "'");
        *positionalOut = arg;
        positionalSeen = true;
        continue;
      }
      std::string name = arg, value;
      bool inlineValue = false;
      if (size_t eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inlineValue = true;
      }
      Option *o = find(name);
      if (!o)
        return error("unknown option '" + name + "'");
      if (o->valueName.empty()) {
        if (inlineValue)
          return error(name + " takes no value");
      } else if (!inlineValue) {
        if (i + 1 >= argc)
          return error(name + " needs a value (" + o->valueName + ")");
        value = argv[++i];
      }
      if (o->seen && !o->repeatable)
        return error(name + " given twice");
      o->seen = true;
      if (std::string problem = o->set(value); !problem.empty())
        return error(name + ": " + problem);
    }
    return std::nullopt;
  }

  /// Whether option \p name was given.
  bool given(const std::string &name) const {
    for (const Option &o : options)
      if (o.name == name)
        return o.seen;
    return false;
  }

  /// Prints "<tool>: <message>" and the usage line; returns 2.
  int error(const std::string &message) const {
    std::fprintf(stderr, "%s: %s\nusage: %s %s (--help lists the options)\n",
                 tool.c_str(), message.c_str(), tool.c_str(), usage.c_str());
    return 2;
  }

  void printHelp(FILE *f) const {
    std::fprintf(f, "usage: %s %s\n\n%s\n\n", tool.c_str(), usage.c_str(),
                 summary.c_str());
    if (positionalOut)
      std::fprintf(f, "  %-28s %s\n", positionalName.c_str(),
                   positionalHelp.c_str());
    for (const Option &o : options) {
      std::string left = o.name + (o.valueName.empty() ? "" : " " + o.valueName);
      std::fprintf(f, "  %-28s %s (default: %s%s)\n", left.c_str(),
                   o.help.c_str(), o.dflt.c_str(),
                   o.repeatable ? "; repeatable" : "");
    }
    std::fprintf(f, "  %-28s %s\n", "--help", "this list");
  }

private:
  struct Option {
    std::string name, valueName, help, dflt;
    bool repeatable = false, seen = false;
    std::function<std::string(const std::string &)> set;
  };

  void add(const std::string &name, const std::string &valueName,
           const std::string &help, const std::string &dflt, bool repeatable,
           std::function<std::string(const std::string &)> set) {
    options.push_back({name, valueName, help, dflt, repeatable, false,
                       std::move(set)});
  }
  Option *find(const std::string &name) {
    for (Option &o : options)
      if (o.name == name)
        return &o;
    return nullptr;
  }

  std::string tool, usage, summary;
  std::vector<Option> options;
  std::string positionalName, positionalHelp;
  std::string *positionalOut = nullptr;
  bool positionalSeen = false;
};

} // namespace fd::harness

#endif // FD_HARNESS_COMMANDLINE_H
