#pragma once
// Figures as plotly.js specs (nlohmann::json traces + layout), written as self-contained HTML
// pages that open offline (plotly.min.js embedded, or beside them) and, with --png, rendered to
// PNG by headless Chromium. The specs are plain data, so tests check them without a browser.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace actlens::report {

struct Figure {
  std::string name;                                  // file stem: [a-z0-9_-], unique within a run
  std::string title;                                 // one line, shown on the index page
  nlohmann::json data = nlohmann::json::array();     // plotly traces
  nlohmann::json layout = nlohmann::json::object();  // plotly layout
  int width = 900, height = 520;                     // pixels (page and PNG)
};

// Where the page loads plotly.js from: embedded in every page (works offline, ~4.8 MB each),
// the plotly CDN (small pages, needs the network), or one plotly.min.js beside the pages
// (offline, small pages; keep the folder together). `automatic`: inline for up to
// kMaxInlinePages pages, else file (an LDA over 46 layers would otherwise write ~1.8 GB).
enum class PlotlySource { automatic, inline_js, cdn, file };
constexpr std::size_t kMaxInlinePages = 12;
// "auto" | "inline" | "cdn" | "file"; `what` names the flag or variable in the error.
PlotlySource parse_plotly_source(const std::string& s, const std::string& what = "--plotly");
std::string to_string(PlotlySource s);

struct FigureOptions {
  PlotlySource plotly = PlotlySource::automatic;
  bool png = false;  // also render NAME.png with headless Chromium
};

// The plotly.js bundled at build time (from PyPI's plotly wheel, fetched by scripts/setup).
std::string_view plotly_js();
std::string plotly_version();
std::string plotly_cdn_url();

// Interactive pages carry plotly's mode bar (zoom, pan, download); a page rendered to a PNG
// (`--png`) does not, since a picture of buttons does nothing.
enum class PageMode { interactive, static_image };

// One page holding one figure; the script comes from `source` (inline, CDN, or beside it).
std::string figure_html(const Figure& f, PlotlySource source,
                        PageMode mode = PageMode::interactive);

// Writes run_dir/figures/NAME.html for every figure (PNG beside them with options.png) and
// run_dir/index.html linking them; every file goes to a temporary name first and is renamed.
// Returns what run.json records under "figures".
nlohmann::json write_figures(const std::filesystem::path& run_dir, const std::string& run_title,
                             const std::vector<Figure>& figures, const FigureOptions& options);

}  // namespace actlens::report
