// Figure pages: one HTML file per figure (the spec as JSON data, drawn by plotly.js on load) and
// an index page per run.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <system_error>

#include <spdlog/spdlog.h>

#include "actlens/error.hpp"
#include "actlens/io/atomic_file.hpp"
#include "actlens/report/figure.hpp"
#include "actlens/report/png_render.hpp"

// plotly.min.js, assembled into the binary by plotly_asset.S (.incbin of the file scripts/setup
// fetched); ACTLENS_PLOTLY_VERSION comes from its header comment (see CMakeLists.txt).
extern "C" const char actlens_plotly_js_begin[];
extern "C" const char actlens_plotly_js_end[];

namespace actlens::report {
namespace fs = std::filesystem;

PlotlySource parse_plotly_source(const std::string& s, const std::string& what) {
  if (s == "auto") return PlotlySource::automatic;
  if (s == "inline") return PlotlySource::inline_js;
  if (s == "cdn") return PlotlySource::cdn;
  if (s == "file") return PlotlySource::file;
  throw UsageError(what + ": '" + s + "' is not one of auto, inline, cdn, file");
}

std::string to_string(PlotlySource s) {
  switch (s) {
    case PlotlySource::automatic:
      return "auto";
    case PlotlySource::inline_js:
      return "inline";
    case PlotlySource::cdn:
      return "cdn";
    case PlotlySource::file:
      return "file";
  }
  return "inline";
}

std::string_view plotly_js() {
  return {actlens_plotly_js_begin,
          static_cast<std::size_t>(actlens_plotly_js_end - actlens_plotly_js_begin)};
}
std::string plotly_version() {
  return ACTLENS_PLOTLY_VERSION;
}
std::string plotly_cdn_url() {
  return "https://cdn.plot.ly/plotly-" + plotly_version() + ".min.js";
}

namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
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
        out += c;
    }
  }
  return out;
}

// JSON inside <script type="application/json">: "</" must not appear (it would end the
// element); "<\/" is the same JSON string.
std::string script_safe_json(const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

const char* kPageStyle =
    "body{margin:0;background:#fff;font-family:sans-serif}"
    "#actlens-figure{width:%Wpx;height:%Hpx}"
    "#actlens-missing{padding:1em;color:#b00}";

std::string page_style(const Figure& f) {
  std::string s = kPageStyle;
  s.replace(s.find("%W"), 2, std::to_string(f.width));
  s.replace(s.find("%H"), 2, std::to_string(f.height));
  return s;
}

}  // namespace

std::string figure_html(const Figure& f, PlotlySource source, PageMode mode) {
  nlohmann::json spec = {{"data", f.data}, {"layout", f.layout}};
  spec["layout"]["width"] = f.width;
  spec["layout"]["height"] = f.height;
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta name=\"generator\" content=\"actlens (plotly.js " + plotly_version() + ")\">\n";
  h += "<title>" + html_escape(f.title) + "</title>\n";
  h += "<style>" + page_style(f) + "</style>\n";
  switch (source) {
    case PlotlySource::automatic:  // write_figures resolves it; one page alone is inline
    case PlotlySource::inline_js:
      h += "<script>";
      h += plotly_js();
      h += "</script>\n";
      break;
    case PlotlySource::cdn:
      h += "<script src=\"" + plotly_cdn_url() + "\" charset=\"utf-8\"></script>\n";
      break;
    case PlotlySource::file:
      h += "<script src=\"plotly.min.js\" charset=\"utf-8\"></script>\n";
      break;
  }
  h += "</head>\n<body>\n<div id=\"actlens-figure\"></div>\n";
  h += "<script type=\"application/json\" id=\"actlens-figure-spec\">" + script_safe_json(spec) +
       "</script>\n";
  // Draws the spec; data-actlens-rendered="1" on <body> tells a browser test (or a PNG
  // renderer) that plotly has finished.
  h += "<script>\n(function () {\n"
       "  var gd = document.getElementById('actlens-figure');\n"
       "  if (typeof Plotly === 'undefined') {\n"
       "    gd.id = 'actlens-missing';\n"
       "    gd.textContent = 'plotly.js did not load (this page takes it from " +
       (source == PlotlySource::cdn ? plotly_cdn_url() : std::string("plotly.min.js beside it")) +
       "); the figure data is in the actlens-figure-spec element.';\n"
       "    return;\n  }\n"
       "  var spec = JSON.parse(document.getElementById('actlens-figure-spec').textContent);\n"
       "  Plotly.newPlot(gd, spec.data, spec.layout, {displaylogo: false, responsive: false,\n" +
       std::string(mode == PageMode::static_image ? "      displayModeBar: false,\n" : "") +
       "      toImageButtonOptions: {filename: " + nlohmann::json(f.name).dump() +
       "}}).then(function () {\n"
       "    document.body.setAttribute('data-actlens-rendered', '1');\n  });\n"
       "})();\n</script>\n</body>\n</html>\n";
  return h;
}

namespace {

std::string index_html(const std::string& run_title, const std::vector<Figure>& figures,
                       bool with_png) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                  html_escape(run_title) +
                  "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
                  "li{margin:.3em 0}img{max-width:28em;display:block;border:1px solid #ddd;"
                  "margin:.3em 0 1em}</style>\n</head>\n<body>\n<h1>" +
                  html_escape(run_title) + "</h1>\n<ul>\n";
  for (const auto& f : figures) {
    h += "<li><a href=\"figures/" + f.name + ".html\">" + html_escape(f.title) + "</a>";
    if (with_png)
      h += "<a href=\"figures/" + f.name + ".html\"><img src=\"figures/" + f.name +
           ".png\" alt=\"" + html_escape(f.title) + "\"></a>";
    h += "</li>\n";
  }
  h += "</ul>\n<p>Figures drawn by actlens with plotly.js " + plotly_version() +
       ". The data behind each one are the CSV/JSON/npy files of this "
       "folder.</p>\n</body>\n</html>\n";
  return h;
}

void check_names(const std::vector<Figure>& figures) {
  std::vector<std::string> names;
  for (const auto& f : figures) {
    const bool ok = !f.name.empty() && std::all_of(f.name.begin(), f.name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
    if (!ok) throw std::logic_error("figure name '" + f.name + "' is not [a-z0-9_-]+");
    names.push_back(f.name);
  }
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end())
    throw std::logic_error("two figures share a name");
}

// Replaces `target` (a folder) by `fresh`: a reader sees the old or the new folder, never a mix.
void swap_folder(const fs::path& fresh, const fs::path& target) {
  std::error_code ec;
  const fs::path old = target.string() + ".old-" + std::to_string(::getpid());
  if (fs::exists(target)) {
    fs::rename(target, old, ec);
    if (ec) throw Error(target.string() + ": cannot replace it: " + ec.message());
  }
  fs::rename(fresh, target, ec);
  if (ec) {
    fs::rename(old, target);
    throw Error(target.string() + ": cannot write it: " + ec.message());
  }
  fs::remove_all(old, ec);
}

}  // namespace

nlohmann::json write_figures(const fs::path& run_dir, const std::string& run_title,
                             const std::vector<Figure>& figures, const FigureOptions& options) {
  check_names(figures);
  FigureOptions opt = options;
  if (opt.plotly == PlotlySource::automatic)
    opt.plotly = figures.size() <= kMaxInlinePages ? PlotlySource::inline_js : PlotlySource::file;
  nlohmann::json rec = {{"plotly_version", plotly_version()},
                        {"plotly", to_string(opt.plotly)},
                        {"index", "index.html"},
                        {"files", nlohmann::json::array()}};
  const fs::path staging = run_dir / ("figures.tmp-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) throw Error(staging.string() + ": cannot create the figures folder: " + ec.message());
  try {
    if (opt.plotly == PlotlySource::file)
      io::write_file_atomic(staging / "plotly.min.js", plotly_js());
    for (const auto& f : figures) {
      io::write_file_atomic(staging / (f.name + ".html"), figure_html(f, opt.plotly));
      rec["files"].push_back("figures/" + f.name + ".html");
    }
    bool with_png = false;
    if (opt.png && !figures.empty()) {
      const auto chromium = find_chromium();
      if (!chromium) {
        spdlog::warn(
            "--png: no Chromium found (install Debian's 'chromium', or set "
            "ACTLENS_CHROMIUM to a Chrome/Chromium binary); the HTML figures are written, "
            "no PNGs");
        rec["png"] = "skipped: no Chromium";
      } else {
        // A browser failure costs the PNGs, never the results or the HTML figures.
        try {
          for (const auto& f : figures) {
            // the same page without the mode bar, beside the others (so a plotly.min.js
            // next to them loads), under a name no figure can have ([a-z0-9_-] only)
            const fs::path page = staging / ("." + f.name + ".static.html");
            io::write_file_atomic(page, figure_html(f, opt.plotly, PageMode::static_image));
            try {
              render_png(*chromium, page, staging / (f.name + ".png"), f.width, f.height);
            } catch (...) {
              fs::remove(page, ec);
              throw;
            }
            fs::remove(page, ec);
            rec["files"].push_back("figures/" + f.name + ".png");
          }
          with_png = true;
          rec["png"] = chromium->string();
        } catch (const Error& e) {
          spdlog::warn("{}", e.what());
          rec["png"] = std::string("failed: ") + e.what();
        }
      }
    }
    swap_folder(staging, run_dir / "figures");
    io::write_file_atomic(run_dir / "index.html", index_html(run_title, figures, with_png));
  } catch (...) {
    fs::remove_all(staging, ec);
    throw;
  }
  rec["count"] = figures.size();
  return rec;
}

}  // namespace actlens::report
