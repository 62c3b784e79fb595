// Opens actlens figure pages in headless Chromium through chromedriver (W3C WebDriver over HTTP,
// with libcurl) and checks each one as a reader would see it:
//   - plotly drew it (the page sets data-actlens-rendered) and the browser logged no error;
//   - the plot holds rendered SVG (or a WebGL canvas for 3-D / scattergl traces) with as many
//     traces as the figure's spec, and as many drawn points as the spec has finite points;
//   - optional expectations (a file of "page traces points [trace-type]" lines) match;
//   - nothing a reader needs is cut off or covered (kLayout below): titles, axis titles, tick
//     labels and annotations inside the figure, labels not on top of each other, 3-D scenes in
//     view;
//   - a screenshot, saved as PNG, is not blank (decoded with libpng: enough non-white pixels
//     and colours).
// Usage: actlens_browser_check --driver CHROMEDRIVER [--chromium BIN] --screenshots DIR
//                              [--expect FILE] PAGE.html...
// Exit 0 when every page passes; one line per page either way.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>
#include <png.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::size_t collect(char* p, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

// One WebDriver call; throws with the driver's message on an error status.
json http(const std::string& method, const std::string& url, const json* body = nullptr,
          long timeout_s = 60) {
  CURL* c = curl_easy_init();
  if (!c) throw std::runtime_error("curl_easy_init failed");
  std::string response, payload = body ? body->dump() : "";
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.c_str());
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) throw std::runtime_error(method + " " + url + ": " + curl_easy_strerror(rc));
  json j = response.empty() ? json::object() : json::parse(response, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error(method + " " + url + ": not JSON: " + response.substr(0, 200));
  if (status >= 400) {
    const json& v = j.contains("value") ? j["value"] : j;
    throw std::runtime_error(method + " " + url + ": HTTP " + std::to_string(status) + ": " +
                             v.value("message", response.substr(0, 300)));
  }
  return j;
}

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free local port");
  ::close(s);
  return ntohs(a.sin_port);
}

std::string base64_decode(const std::string& in) {
  static int table[256];
  static bool init = false;
  if (!init) {
    for (int& t : table) t = -1;
    const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) table[static_cast<unsigned char>(chars[i])] = i;
    init = true;
  }
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char ch : in) {
    if (table[ch] < 0) continue;
    val = (val << 6) + table[ch];
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

struct ImageStats {
  int width = 0, height = 0;
  double non_white = 0;  // fraction of pixels that are not (near) white
  std::size_t colours = 0;
};

ImageStats png_stats(const std::string& bytes) {
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
    throw std::runtime_error(std::string("screenshot is not a PNG: ") + img.message);
  img.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> px(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, px.data(), 0, nullptr))
    throw std::runtime_error(std::string("cannot decode the screenshot: ") + img.message);
  ImageStats s;
  s.width = static_cast<int>(img.width);
  s.height = static_cast<int>(img.height);
  std::set<unsigned> colours;
  std::size_t non_white = 0;
  const std::size_t n = static_cast<std::size_t>(s.width) * static_cast<std::size_t>(s.height);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned r = px[3 * i], g = px[3 * i + 1], b = px[3 * i + 2];
    if (r < 245 || g < 245 || b < 245) ++non_white;
    if (colours.size() < 100000) colours.insert((r << 16) | (g << 8) | b);
  }
  s.non_white = n ? static_cast<double>(non_white) / static_cast<double>(n) : 0;
  s.colours = colours.size();
  png_image_free(&img);
  return s;
}

// Runs in the page: what plotly drew, per trace, beside what the spec asked for.
const char* kProbe = R"JS(
var gd = document.getElementById('actlens-figure');
var specEl = document.getElementById('actlens-figure-spec');
var out = {rendered: document.body.getAttribute('data-actlens-rendered') === '1',
           missing: gd === null, traces: -1, spec_traces: -1, svg: 0, canvases: 0, per_trace: []};
if (gd === null || specEl === null) return out;
var spec = JSON.parse(specEl.textContent);
out.spec_traces = spec.data.length;
out.svg = gd.querySelectorAll('svg.main-svg').length;
out.canvases = gd.querySelectorAll('canvas').length;
if (!gd._fullData) return out;
out.traces = gd._fullData.length;
// SVG elements plotly drew for each trace: d3 binds every trace group (g.trace, g.hm for
// heatmaps) to its calcdata, whose trace.index says which trace it is.
var drawnBy = {};
gd.querySelectorAll('g.trace, g.hm').forEach(function (el) {
  var d = el.__data__;
  var tr = d && d[0] && d[0].trace ? d[0].trace : (d && d.trace ? d.trace : null);
  if (!tr) return;
  var n = el.classList.contains('hm') ? el.querySelectorAll('image').length
                                      : el.querySelectorAll('.point').length;
  drawnBy[tr.index] = (drawnBy[tr.index] || 0) + n;
});
function finite(v) { return typeof v === 'number' && isFinite(v); }
for (var i = 0; i < spec.data.length; ++i) {
  var t = spec.data[i], full = gd._fullData[i];
  var n = 0;
  var xs = t.x || [], ys = t.y || [];
  var hasMarkers = t.type === 'bar' || (t.mode || 'markers').indexOf('markers') >= 0;
  if (t.type === 'heatmap') n = 1;
  else if (hasMarkers) {
    for (var k = 0; k < Math.max(xs.length, ys.length); ++k) {
      var ok = t.type === 'bar' ? (t.orientation === 'h' ? finite(xs[k]) : finite(ys[k]))
                                : finite(xs[k]) && finite(ys[k]) && (t.type !== 'scatter3d' || finite(t.z[k]));
      if (ok) ++n;
    }
  }
  var drawn = -1, how = 'none';
  if (t.type === 'scatter3d' || t.type === 'scattergl') {
    drawn = hasMarkers ? full._length : 0; how = 'webgl';
  } else if (drawnBy.hasOwnProperty(i)) {
    drawn = hasMarkers || t.type === 'heatmap' ? drawnBy[i] : 0; how = 'svg';
  }
  out.per_trace.push({type: t.type, spec_points: n, drawn: drawn, how: how});
}
return out;
)JS";

// Runs in the page after plotly has drawn: what a reader could not read. Every visible, non-empty
// SVG text that is a title, axis title, tick label, colour-bar label, legend title or annotation
// must lie inside the SVG (the plot's paper; anything past it is cut off), the legend box too.
// Labels (titles, annotations, tick labels, the text traces print beside points) must not cover
// each other, except tick labels among themselves (plotly thins and rotates those). A text is
// measured as what it inks: its box (getBBox: the font's full line height) narrowed to the
// glyphs' measured ascent/descent when it is one line, then turned into the page by its transform
// (getScreenCTM), so rotated tick labels are 4-corner shapes, not their much larger bounding
// rectangles. 3-D scenes (WebGL, no SVG text): the scene's domain lies in the paper, its axes have
// titles, and the 8 corners of the axis cube, projected with the scene's camera, lie inside the
// scene (an edge past it takes its ticks and title with it). Hover layers are never looked at.
const char* kLayout = R"JS(
var gd = document.getElementById('actlens-figure');
var out = {paper: null, clipped: [], overlaps: [], n_checked: 0, n_labels: 0, scenes: []};
var svg = gd && gd.querySelector('svg.main-svg');
if (!svg) return out;
var tol = arguments[0];
function rect(el) { var r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
function round(b) { return b.map(function (v) { return Math.round(v * 10) / 10; }); }
var P = rect(svg);
out.paper = round(P);
function shown(el) {
  for (var e = el; e && e !== gd; e = e.parentNode) {
    if (e.nodeType !== 1) continue;
    var cs = getComputedStyle(e);
    if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.opacity) === 0)
      return false;
  }
  return true;
}
function cls(el) { return (el.getAttribute && el.getAttribute('class')) || ''; }
function inside(el, c) {
  for (var e = el; e && e !== gd; e = e.parentNode)
    if (cls(e).split(' ').indexOf(c) >= 0) return true;
  return false;
}
// What an element is, as plotly classes it: its own class and its group's (xtick, textpoint...).
function what(el) {
  var names = [];
  for (var e = el; e && e !== gd && names.length < 2; e = e.parentNode) {
    var c = cls(e);
    if (c) names.push(c.split(' ')[0]);
  }
  return names.join('<');
}
function label(el) {
  var t = el.textContent.replace(/\s+/g, ' ').trim();
  return what(el) + ' "' + (t.length > 40 ? t.slice(0, 37) + '...' : t) + '"';
}
var ctx = document.createElement('canvas').getContext('2d');
// The 4 corners (page pixels) of what a text inks.
function corners(el) {
  var bb = el.getBBox(), m = el.getScreenCTM();
  var y0 = bb.y, y1 = bb.y + bb.height;
  var cs = getComputedStyle(el);
  ctx.font = cs.fontStyle + ' ' + cs.fontWeight + ' ' + cs.fontSize + ' ' + cs.fontFamily;
  var fm = ctx.measureText(el.textContent);
  var fh = fm.fontBoundingBoxAscent + fm.fontBoundingBoxDescent;
  if (fh > 0 && Math.abs(bb.height - fh) <= 1.5) {  // one line: the glyphs' extent
    var base = y0 + fm.fontBoundingBoxAscent;
    y0 = base - fm.actualBoundingBoxAscent;
    y1 = base + fm.actualBoundingBoxDescent;
  }
  return [[bb.x, y0], [bb.x + bb.width, y0], [bb.x + bb.width, y1], [bb.x, y1]].map(
      function (q) { return [m.a * q[0] + m.c * q[1] + m.e, m.b * q[0] + m.d * q[1] + m.f]; });
}
function bounds(c) {
  var xs = c.map(function (q) { return q[0]; }), ys = c.map(function (q) { return q[1]; });
  return [Math.min.apply(null, xs), Math.min.apply(null, ys), Math.max.apply(null, xs),
          Math.max.apply(null, ys)];
}
// How deep two convex 4-gons overlap (separating axes): <= 0 when apart.
function depth(a, b) {
  var d = Infinity;
  [a, b].forEach(function (poly) {
    for (var i = 0; i < 4; ++i) {
      var p = poly[i], q = poly[(i + 1) % 4];
      var nx = q[1] - p[1], ny = p[0] - q[0], len = Math.hypot(nx, ny);
      if (len === 0) continue;
      nx /= len; ny /= len;
      var pa = a.map(function (v) { return v[0] * nx + v[1] * ny; });
      var pb = b.map(function (v) { return v[0] * nx + v[1] * ny; });
      d = Math.min(d, Math.min(Math.max.apply(null, pa), Math.max.apply(null, pb)) -
                          Math.max(Math.min.apply(null, pa), Math.min.apply(null, pb)));
    }
  });
  return d;
}
function outside(b) {
  return b[0] < P[0] - tol || b[1] < P[1] - tol || b[2] > P[2] + tol || b[3] > P[3] + tol;
}
var labels = [];
var texts = gd.querySelectorAll('svg.main-svg text');
for (var i = 0; i < texts.length; ++i) {
  var el = texts[i];
  if (inside(el, 'hoverlayer') || inside(el, 'hoverlabel') || inside(el, 'hovertext')) continue;
  if (el.textContent.trim() === '' || !shown(el)) continue;
  var c = corners(el), b = bounds(c);
  if (b[2] - b[0] <= 0 || b[3] - b[1] <= 0) continue;
  var tick = /tick(<|$)/.test(what(el)) || inside(el, 'xaxislayer-above') ||
             inside(el, 'yaxislayer-above');
  // legend entries scroll inside the legend box: the box is checked below, not each entry
  if (inside(el, 'scrollbox')) continue;
  // text beside points is clipped to its axes by plotly (cliponaxis), not by the paper
  if (!inside(el, 'textpoint')) {
    ++out.n_checked;
    if (outside(b)) out.clipped.push({what: label(el), box: round(b)});
  }
  labels.push({el: el, c: c, b: b, tick: tick});
}
gd.querySelectorAll('g.legend > rect.bg').forEach(function (el) {
  if (!shown(el)) return;
  var b = rect(el);
  ++out.n_checked;
  if (outside(b)) out.clipped.push({what: 'legend box', box: round(b)});
});
out.n_labels = labels.length;
for (var a = 0; a < labels.length; ++a)
  for (var k = a + 1; k < labels.length; ++k) {
    var p = labels[a], q = labels[k];
    if (p.tick && q.tick) continue;
    if (p.b[2] <= q.b[0] || q.b[2] <= p.b[0] || p.b[3] <= q.b[1] || q.b[3] <= p.b[1]) continue;
    if (depth(p.c, q.c) > tol)
      out.overlaps.push({a: label(p.el), b: label(q.el), a_box: round(p.b), b_box: round(q.b)});
  }
// 3-D scenes
var fl = gd._fullLayout || {};
((fl._subplots && fl._subplots.gl3d) || []).forEach(function (id) {
  var sc = fl[id], s = sc._scene, r = {id: id, problems: []};
  out.scenes.push(r);
  var d = sc.domain;
  if (d.x[0] < 0 || d.x[1] > 1 || d.y[0] < 0 || d.y[1] > 1)
    r.problems.push('domain x ' + JSON.stringify(d.x) + ' y ' + JSON.stringify(d.y) +
                    ' reaches past the paper');
  ['xaxis', 'yaxis', 'zaxis'].forEach(function (ax) {
    var a = sc[ax];
    if (a.visible !== false && !(a.title && String(a.title.text || '').trim()))
      r.problems.push(ax + ' has no title');
  });
  if (!s || !s.glplot || !s.container) { r.problems.push('no WebGL scene'); return; }
  var S = rect(s.container);
  r.box = round(S);
  if (outside(S)) r.problems.push('scene box ' + JSON.stringify(round(S)) + ' past the paper');
  var cp = s.glplot.cameraParams, bd = s.glplot.bounds;
  function apply(m, v) {  // column-major 4x4 times a column vector
    var o = [0, 0, 0, 0];
    for (var row = 0; row < 4; ++row)
      for (var j = 0; j < 4; ++j) o[row] += m[j * 4 + row] * v[j];
    return o;
  }
  for (var n = 0; n < 8; ++n) {
    var v = [bd[n & 1][0], bd[(n >> 1) & 1][1], bd[(n >> 2) & 1][2], 1];
    var h = apply(cp.projection, apply(cp.view, apply(cp.model, v)));
    var px = S[0] + (h[0] / h[3] + 1) / 2 * (S[2] - S[0]);
    var py = S[1] + (1 - h[1] / h[3]) / 2 * (S[3] - S[1]);
    if (!(px >= S[0] && px <= S[2] && py >= S[1] && py <= S[3]))
      r.problems.push('axis cube corner ' + n + ' projects to (' + Math.round(px) + ', ' +
                      Math.round(py) + '), outside the scene ' + JSON.stringify(round(S)));
  }
});
return out;
)JS";

// Layout slack in CSS pixels: text boxes are rounded to fractions of a pixel.
constexpr double kTolerancePx = 1.0;
constexpr std::size_t kMaxLayoutProblems = 12;  // per page; the rest are counted

std::string box_text(const json& b) {
  char s[96];
  std::snprintf(s, sizeof s, "[%.1f,%.1f,%.1f,%.1f]", b.at(0).get<double>(), b.at(1).get<double>(),
                b.at(2).get<double>(), b.at(3).get<double>());
  return s;
}

// What kLayout found, one problem per clipped text, overlapping pair or 3-D scene fault, with the
// element (plotly's class and its text) and the boxes (left, top, right, bottom in CSS pixels).
void layout_problems(const json& layout, std::vector<std::string>& problems) {
  if (!layout.contains("paper") || layout["paper"].is_null()) {
    problems.push_back("layout: no plotly SVG to measure");
    return;
  }
  const std::string paper = box_text(layout["paper"]);
  for (const auto& c : layout.value("clipped", json::array()))
    problems.push_back("clipped: " + c.value("what", "?") + " box " + box_text(c["box"]) +
                       " is not inside the figure " + paper);
  for (const auto& o : layout.value("overlaps", json::array()))
    problems.push_back("overlap: " + o.value("a", "?") + " " + box_text(o["a_box"]) + " and " +
                       o.value("b", "?") + " " + box_text(o["b_box"]));
  for (const auto& sc : layout.value("scenes", json::array()))
    for (const auto& p : sc.value("problems", json::array()))
      problems.push_back("3-D " + sc.value("id", "scene") + ": " + p.get<std::string>());
}

struct Expect {
  int traces = -1;
  long points = -1;
  std::string type;  // a trace type the page must hold (scatter3d: drawn in 3-D); may be empty
};

// Opens one page in the WebDriver session `s` and checks it: adds what is wrong to `problems`,
// returns the one-line summary printed when nothing is.
std::string check_page(const std::string& s, const fs::path& page,
                       const std::map<std::string, Expect>& expect, const std::string& shots,
                       std::vector<std::string>& problems) {
  json probe;
  const json nav = {{"url", "file://" + fs::absolute(page).string()}};
  http("POST", s + "/url", &nav);
  // the browser log, read now and after drawing (chromedriver hands each entry out once)
  const json logreq = {{"type", "browser"}};
  json log_entries = http("POST", s + "/se/log", &logreq)["value"];
  const json script = {{"script", kProbe}, {"args", json::array()}};
  for (int t = 0; t < 300; ++t) {  // up to 30 s for plotly to finish
    probe = http("POST", s + "/execute/sync", &script)["value"];
    if (probe.value("rendered", false)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // WebGL's first frame
  if (probe.value("missing", true)) problems.push_back("no actlens-figure element");
  if (!probe.value("rendered", false)) problems.push_back("plotly never finished drawing");
  const int traces = probe.value("traces", -1), spec_traces = probe.value("spec_traces", -2);
  if (traces != spec_traces)
    problems.push_back("plotly has " + std::to_string(traces) + " traces, the spec " +
                       std::to_string(spec_traces));
  if (probe.value("svg", 0) == 0) problems.push_back("no rendered SVG");
  long spec_points = 0;
  bool gl = false;
  for (const auto& t : probe.value("per_trace", json::array())) {
    spec_points += t.value("spec_points", 0L);
    gl = gl || t.value("how", "") == "webgl";
    if (t.value("drawn", -1L) != t.value("spec_points", 0L))
      problems.push_back(t.value("type", "?") + " trace: " + std::to_string(t.value("drawn", -1L)) +
                         " points drawn (" + t.value("how", "") + "), spec has " +
                         std::to_string(t.value("spec_points", 0L)));
  }
  if (gl && probe.value("canvases", 0) == 0) problems.push_back("WebGL trace but no canvas");
  const json layout_script = {{"script", kLayout}, {"args", {kTolerancePx}}};
  const json layout = http("POST", s + "/execute/sync", &layout_script)["value"];
  const std::size_t before = problems.size();
  layout_problems(layout, problems);
  const std::size_t layout_found = problems.size() - before;
  if (layout_found > kMaxLayoutProblems) {
    problems.resize(before + kMaxLayoutProblems);
    problems.push_back("... " + std::to_string(layout_found - kMaxLayoutProblems) +
                       " more layout problems");
  }
  const auto e = expect.find(fs::weakly_canonical(page).string());
  if (e != expect.end()) {
    if (e->second.traces >= 0 && e->second.traces != spec_traces)
      problems.push_back("expected " + std::to_string(e->second.traces) + " traces, page has " +
                         std::to_string(spec_traces));
    if (e->second.points >= 0 && e->second.points != spec_points)
      problems.push_back("expected " + std::to_string(e->second.points) + " points, page has " +
                         std::to_string(spec_points));
    bool has_type = e->second.type.empty();
    for (const auto& t : probe.value("per_trace", json::array()))
      has_type = has_type || t.value("type", "") == e->second.type;
    if (!has_type) problems.push_back("expected a " + e->second.type + " trace, none drawn");
  }
  for (const auto& entry : http("POST", s + "/se/log", &logreq)["value"])
    log_entries.push_back(entry);
  for (const auto& entry : log_entries)
    if (entry.value("level", "") == "SEVERE")
      problems.push_back("console error: " + entry.value("message", ""));
  const std::string png = base64_decode(http("GET", s + "/screenshot")["value"].get<std::string>());
  const fs::path shot = fs::path(shots) / (page.parent_path().parent_path().filename().string() +
                                           "_" + page.stem().string() + ".png");
  std::ofstream(shot, std::ios::binary) << png;
  const ImageStats st = png_stats(png);
  if (st.non_white < 0.01 || st.colours < 8)
    problems.push_back("screenshot looks blank (" + std::to_string(st.non_white * 100) +
                       "% non-white pixels, " + std::to_string(st.colours) + " colours)");
  char line[320];
  std::snprintf(line, sizeof line,
                "%d traces, %ld points%s, screenshot %dx%d %.1f%% ink, %d texts inside, "
                "%d labels apart, %zu 3-D scenes fit",
                spec_traces, spec_points, gl ? " (WebGL)" : "", st.width, st.height,
                st.non_white * 100, layout.value("n_checked", 0), layout.value("n_labels", 0),
                layout.value("scenes", json::array()).size());
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  std::string driver, chromium, shots, expect_file;
  std::vector<fs::path> pages;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--driver")
      driver = next();
    else if (a == "--chromium")
      chromium = next();
    else if (a == "--screenshots")
      shots = next();
    else if (a == "--expect")
      expect_file = next();
    else
      pages.emplace_back(a);
  }
  if (driver.empty() || shots.empty() || pages.empty()) {
    std::fprintf(stderr,
                 "usage: actlens_browser_check --driver CHROMEDRIVER [--chromium BIN] "
                 "--screenshots DIR [--expect FILE] PAGE.html...\n");
    return 2;
  }
  std::map<std::string, Expect> expect;
  if (!expect_file.empty()) {
    std::ifstream in(expect_file);
    std::string line, page;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      Expect e;
      if (fields >> page >> e.traces >> e.points) {
        fields >> e.type;
        expect[fs::weakly_canonical(page).string()] = e;
      }
    }
  }
  fs::create_directories(shots);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  const int port = free_port();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string log = (fs::path(shots) / "chromedriver.log").string();
  std::vector<std::string> dargs = {driver, "--port=" + std::to_string(port), "--log-path=" + log};
  std::vector<char*> dv;
  for (auto& s : dargs) dv.push_back(s.data());
  dv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  if (::posix_spawn(&pid, driver.c_str(), &fa, &attr, dv.data(), environ) != 0) {
    std::fprintf(stderr, "cannot start %s\n", driver.c_str());
    return 1;
  }
  int failures = 0;
  std::string session;
  try {
    bool ready = false;
    for (int t = 0; t < 200 && !ready; ++t) {
      try {
        ready = http("GET", base + "/status", nullptr, 2)["value"].value("ready", false);
      } catch (const std::exception&) {
      }
      if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!ready) throw std::runtime_error("chromedriver did not start (log: " + log + ")");
    json chrome_opts = {
        {"args",
         {"--headless", "--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
          "--enable-unsafe-swiftshader", "--window-size=1200,900", "--hide-scrollbars"}}};
    if (!chromium.empty()) chrome_opts["binary"] = chromium;
    const json caps = {{"capabilities",
                        {{"alwaysMatch",
                          {{"browserName", "chrome"},
                           {"goog:chromeOptions", chrome_opts},
                           {"goog:loggingPrefs", {{"browser", "ALL"}}}}}}}};
    session = http("POST", base + "/session", &caps)["value"]["sessionId"].get<std::string>();
    const std::string s = base + "/session/" + session;

    for (const auto& page : pages) {
      std::vector<std::string> problems;
      const std::string name =
          page.parent_path().parent_path().filename().string() + "/" + page.filename().string();
      try {
        const std::string summary = check_page(s, page, expect, shots, problems);
        if (problems.empty()) std::printf("ok   %s: %s\n", name.c_str(), summary.c_str());
      } catch (const std::exception& ex) {
        problems.push_back(ex.what());
      }
      if (!problems.empty()) {
        ++failures;
        std::printf("FAIL %s:", name.c_str());
        for (const auto& p : problems) std::printf(" [%s]", p.c_str());
        std::printf("\n");
      }
    }
  } catch (const std::exception& ex) {
    std::printf("FAIL: %s\n", ex.what());
    ++failures;
  }
  if (!session.empty()) {
    try {
      http("DELETE", base + "/session/" + session, nullptr, 20);
    } catch (const std::exception&) {
    }
  }
  ::kill(-pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::kill(-pid, SIGKILL);
  curl_global_cleanup();
  std::printf("%zu pages, %d failed\n", pages.size(), failures);
  return failures == 0 ? 0 : 1;
}
