#pragma once
// The pixel model in which figure builders place point labels so that they do not overlap:
// where plotly draws a scatter point's text, from the page's fixed margins and an axis's fixed
// range (rendered text boxes in headless Chromium were measured to fall inside these boxes).
#include <string>

namespace actlens::report::figs {

struct Box {
  double x0, y0, x1, y1;  // pixels from the page's top left
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
  bool inside(const Box& o) const { return x0 >= o.x0 && x1 <= o.x1 && y0 >= o.y0 && y1 <= o.y1; }
};

// Plot area of one pair of axes with explicit ranges.
struct Frame {
  double left, top, width, height;  // pixels
  double x0, x1, y0, y1;            // axis ranges
  double px(double x) const { return left + (x - x0) / (x1 - x0) * width; }
  double py(double y) const { return top + (1.0 - (y - y0) / (y1 - y0)) * height; }
  Box area() const { return {left, top, left + width, top + height}; }
};

constexpr double kCharWidth = 0.65;  // of the font size: wider than DejaVu Sans/Verdana's mean
constexpr double kLabelPad = 1.5;    // px kept free around every label

// The text of a point at (px, py) drawn with `position` ("top center", "bottom right", ...) as
// plotly's Drawing.textPointPosition does: marker radius / 0.8 + 1 px from the point, the
// baseline 0.75 font sizes below the anchor; glyphs 0.95 font sizes above and 0.25 below it.
inline Box label_box(double px, double py, const std::string& position, std::size_t chars,
                     double font, double marker_size) {
  const double r = marker_size / 2 / 0.8 + 1;
  const double w = static_cast<double>(chars) * kCharWidth * font;
  double x0 = px - w / 2, baseline = py + 0.25 * font;  // middle center
  if (position.find("top") != std::string::npos) baseline = py - r - 0.25 * font;
  if (position.find("bottom") != std::string::npos) baseline = py + r + 0.75 * font;
  if (position.find("right") != std::string::npos) x0 = px + r;
  if (position.find("left") != std::string::npos) x0 = px - r - w;
  return {x0 - kLabelPad, baseline - 0.95 * font - kLabelPad, x0 + w + kLabelPad,
          baseline + 0.25 * font + kLabelPad};
}

}  // namespace actlens::report::figs
