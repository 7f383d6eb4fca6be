#include "metrics/testing/exposition.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

namespace forest::metrics::testing {
namespace {

bool Blank(char c) { return c == ' ' || c == '\t'; }

bool NameStart(char c, bool colons) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
}
bool NameChar(char c, bool colons) { return NameStart(c, colons) || (c >= '0' && c <= '9'); }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Go's ParseFloat for what an exposition carries: decimal numbers with an
// optional sign, fraction and exponent; Inf, +Inf, -Inf, NaN.
std::optional<double> ParseFloat(std::string_view s) {
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (s.empty()) return std::nullopt;
  std::string_view digits = s;
  bool negative = false;
  if (digits.front() == '+' || digits.front() == '-') {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  if (digits.empty()) return std::nullopt;
  // from_chars would also take "inf" and "nan": digits, '.', exponent only.
  bool any_digit = false;
  for (const char c : digits) {
    if (c >= '0' && c <= '9') {
      any_digit = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') {
      return std::nullopt;
    }
  }
  if (!any_digit) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return negative ? -v : v;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  std::string_view digits = s;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty()) return std::nullopt;
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

class Parser {
 public:
  absl::StatusOr<Exposition> Run(std::string_view text) {
    if (!text.empty() && text.back() != '\n') {
      return absl::InvalidArgumentError("the text does not end with a line feed");
    }
    size_t start = 0;
    while (start < text.size()) {
      const size_t end = text.find('\n', start);
      ++line_no_;
      line_ = text.substr(start, end - start);
      pos_ = 0;
      RETURN_IF_ERROR(Line());
      start = end + 1;
    }
    RETURN_IF_ERROR(CheckHistograms());
    return std::move(out_);
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(
        fmt::format("line {}: {} (in \"{}\")", line_no_, what, line_));
  }

  void SkipBlanks() {
    while (pos_ < line_.size() && Blank(line_[pos_])) ++pos_;
  }
  bool AtEnd() const { return pos_ >= line_.size(); }

  std::string_view Token() {
    const size_t begin = pos_;
    while (pos_ < line_.size() && !Blank(line_[pos_])) ++pos_;
    return line_.substr(begin, pos_ - begin);
  }

  absl::StatusOr<std::string> Name(bool colons) {
    const size_t begin = pos_;
    if (AtEnd() || !NameStart(line_[pos_], colons)) {
      return Error(colons ? "expected a metric name" : "expected a label name");
    }
    while (pos_ < line_.size() && NameChar(line_[pos_], colons)) ++pos_;
    return std::string(line_.substr(begin, pos_ - begin));
  }

  // Opens the group of family `name` (the current one, or a new one).
  absl::StatusOr<ParsedFamily*> Enter(const std::string& name) {
    if (name == current_) return &out_.families[name];
    if (out_.families.contains(name)) {
      return Error(fmt::format("the lines of {} are not one group", name));
    }
    current_ = name;
    ParsedFamily& f = out_.families[name];
    f.name = name;
    return &f;
  }

  absl::Status Line() {
    SkipBlanks();
    if (AtEnd()) return absl::OkStatus();
    if (line_[pos_] == '#') return Comment();
    return SampleLine();
  }

  absl::Status Comment() {
    ++pos_;
    SkipBlanks();
    const std::string_view keyword = Token();
    if (keyword != "HELP" && keyword != "TYPE") return absl::OkStatus();
    if (AtEnd() || !Blank(line_[pos_])) return Error("expected a metric name");
    SkipBlanks();
    ASSIGN_OR_RETURN(const std::string name, Name(/*colons=*/true));
    if (!AtEnd() && !Blank(line_[pos_])) return Error("bad character in the metric name");
    ASSIGN_OR_RETURN(ParsedFamily * family, Enter(name));
    if (keyword == "HELP") {
      if (helped_.contains(name)) return Error("a second HELP line for " + name);
      helped_.insert(name);
      SkipBlanks();
      std::string help;
      for (; pos_ < line_.size(); ++pos_) {
        const char c = line_[pos_];
        if (c != '\\') {
          help += c;
          continue;
        }
        if (++pos_ >= line_.size()) return Error("a HELP text ends in a backslash");
        if (line_[pos_] == '\\') {
          help += '\\';
        } else if (line_[pos_] == 'n') {
          help += '\n';
        } else {
          return Error("an escape other than \\\\ or \\n in a HELP text");
        }
      }
      family->help = std::move(help);
      return absl::OkStatus();
    }
    if (family->typed) return Error("a second TYPE line for " + name);
    if (!family->samples.empty()) return Error("a TYPE line after the samples of " + name);
    SkipBlanks();
    const std::string_view type = Token();
    SkipBlanks();
    if (!AtEnd()) return Error("text after the type");
    if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
        type != "untyped") {
      return Error(fmt::format("unknown type \"{}\"", type));
    }
    family->type = std::string(type);
    family->typed = true;
    return absl::OkStatus();
  }

  absl::Status LabelValue(std::string& value) {
    if (AtEnd() || line_[pos_] != '"') return Error("expected a quoted label value");
    ++pos_;
    for (;; ++pos_) {
      if (AtEnd()) return Error("an unterminated label value");
      const char c = line_[pos_];
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c != '\\') {
        value += c;
        continue;
      }
      if (++pos_ >= line_.size()) return Error("an unterminated label value");
      switch (line_[pos_]) {
        case '\\':
          value += '\\';
          break;
        case '"':
          value += '"';
          break;
        case 'n':
          value += '\n';
          break;
        default:
          return Error("an escape other than \\\\, \\\" or \\n in a label value");
      }
    }
  }

  absl::Status Labels(LabelSet& labels) {
    ++pos_;  // '{'
    SkipBlanks();
    while (!AtEnd() && line_[pos_] != '}') {
      ASSIGN_OR_RETURN(const std::string name, Name(/*colons=*/false));
      if (name.rfind("__", 0) == 0) return Error("a reserved label name " + name);
      SkipBlanks();
      if (AtEnd() || line_[pos_] != '=') return Error("expected = after a label name");
      ++pos_;
      SkipBlanks();
      std::string value;
      RETURN_IF_ERROR(LabelValue(value));
      if (!labels.emplace(name, std::move(value)).second) {
        return Error("the label " + name + " given twice");
      }
      SkipBlanks();
      if (!AtEnd() && line_[pos_] == ',') {
        ++pos_;
        SkipBlanks();
      } else if (AtEnd() || line_[pos_] != '}') {
        return Error("expected , or } after a label");
      }
    }
    if (AtEnd()) return Error("an unterminated label set");
    ++pos_;  // '}'
    return absl::OkStatus();
  }

  // The family a sample name goes to: the open histogram or summary it is
  // a part of, else (an earlier one, to be refused as a second group) the
  // family of that name.
  std::string FamilyName(const std::string& sample) const {
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!EndsWith(sample, suffix)) continue;
      const std::string base = sample.substr(0, sample.size() - suffix.size());
      const auto it = out_.families.find(base);
      if (it == out_.families.end()) continue;
      if (it->second.type == "histogram") return base;
      if (it->second.type == "summary" && suffix != "_bucket") return base;
    }
    return sample;
  }

  absl::Status SampleLine() {
    Sample sample;
    ASSIGN_OR_RETURN(sample.name, Name(/*colons=*/true));
    bool blank = !AtEnd() && Blank(line_[pos_]);
    SkipBlanks();
    if (!AtEnd() && line_[pos_] == '{') {
      RETURN_IF_ERROR(Labels(sample.labels));
      blank = true;  // "}" ends the token already
      SkipBlanks();
    }
    if (!blank || AtEnd()) return Error("expected a blank, then the value");
    const std::string_view value_text = Token();
    const std::optional<double> value = ParseFloat(value_text);
    if (!value) return Error(fmt::format("\"{}\" is not a value", value_text));
    sample.value = *value;
    SkipBlanks();
    if (!AtEnd()) {
      const std::string_view ts = Token();
      sample.timestamp_ms = ParseInt(ts);
      if (!sample.timestamp_ms) return Error(fmt::format("\"{}\" is not a timestamp", ts));
      SkipBlanks();
      if (!AtEnd()) return Error("text after the timestamp");
    }
    ASSIGN_OR_RETURN(ParsedFamily * family, Enter(FamilyName(sample.name)));
    std::string series = sample.name;
    for (const auto& [k, v] : sample.labels) series += "\x01" + k + "\x02" + v;
    if (!series_.insert(series).second) return Error("a series given twice");
    if (family->type == "counter" && (std::isnan(sample.value) || sample.value < 0)) {
      return Error("a counter below zero or NaN");
    }
    if (family->type == "histogram" && EndsWith(sample.name, "_bucket")) {
      const auto le = sample.labels.find("le");
      if (le == sample.labels.end()) return Error("a histogram bucket without le");
      if (!ParseFloat(le->second)) return Error("le is not a number");
    }
    family->samples.push_back(std::move(sample));
    return absl::OkStatus();
  }

  absl::Status CheckHistograms() const {
    for (const auto& [name, family] : out_.families) {
      if (family.type != "histogram") continue;
      struct Series {
        std::vector<std::pair<double, double>> buckets;  // (le, value) in line order
        std::optional<double> sum, count;
      };
      std::map<LabelSet, Series> by_labels;
      for (const Sample& s : family.samples) {
        LabelSet labels = s.labels;
        if (s.name == name + "_bucket") {
          const double le = *ParseFloat(labels.at("le"));
          labels.erase("le");
          by_labels[labels].buckets.emplace_back(le, s.value);
        } else if (s.name == name + "_sum") {
          by_labels[labels].sum = s.value;
        } else if (s.name == name + "_count") {
          by_labels[labels].count = s.value;
        } else {
          return absl::InvalidArgumentError(
              fmt::format("histogram {}: a sample named {}", name, s.name));
        }
      }
      for (const auto& [labels, series] : by_labels) {
        // Not [&]: clang 14 cannot capture a structured binding (C++20 allows it).
        const auto bad = [&family_name = name](std::string_view why) {
          return absl::InvalidArgumentError(fmt::format("histogram {}: {}", family_name, why));
        };
        if (series.buckets.empty()) return bad("a series without buckets");
        for (size_t i = 1; i < series.buckets.size(); ++i) {
          if (!(series.buckets[i - 1].first < series.buckets[i].first)) {
            return bad("buckets out of order");
          }
          if (series.buckets[i - 1].second > series.buckets[i].second) {
            return bad("bucket counts decrease");
          }
        }
        if (!std::isinf(series.buckets.back().first) || series.buckets.back().first < 0) {
          return bad("no le=\"+Inf\" bucket");
        }
        if (!series.sum || !series.count) return bad("a series without _sum or _count");
        if (*series.count != series.buckets.back().second) {
          return bad("_count is not the +Inf bucket");
        }
      }
    }
    return absl::OkStatus();
  }

  Exposition out_;
  std::string current_;
  std::set<std::string> helped_;
  std::set<std::string> series_;
  std::string_view line_;
  size_t pos_ = 0;
  int line_no_ = 0;
};

bool Includes(const LabelSet& labels, const LabelSet& match) {
  for (const auto& [k, v] : match) {
    const auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<Exposition> ParseExposition(std::string_view text) { return Parser().Run(text); }

const ParsedFamily* Exposition::FamilyOf(std::string_view sample_name) const {
  for (const auto& [name, family] : families) {
    for (const Sample& s : family.samples) {
      if (s.name == sample_name) return &family;
    }
  }
  const auto it = families.find(std::string(sample_name));
  return it == families.end() ? nullptr : &it->second;
}

std::optional<double> Exposition::Value(std::string_view name, const LabelSet& labels) const {
  for (const auto& [family_name, family] : families) {
    for (const Sample& s : family.samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
  }
  return std::nullopt;
}

double Exposition::Sum(std::string_view name, const LabelSet& match) const {
  double total = 0;
  for (const auto& [family_name, family] : families) {
    for (const Sample& s : family.samples) {
      if (s.name == name && Includes(s.labels, match)) total += s.value;
    }
  }
  return total;
}

}  // namespace forest::metrics::testing
