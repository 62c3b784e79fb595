#pragma once
// PNG screenshots of figure pages with headless Chromium (Debian's `chromium`), run as a child
// process; nothing here links a browser.
#include <filesystem>
#include <optional>
#include <string>

namespace actlens::report {

// $ACTLENS_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH.
std::optional<std::filesystem::path> find_chromium();

// Renders `html` at width x height into `png` (written to a temporary name, then renamed).
// Throws actlens::Error with Chromium's last output line when it fails or times out.
void render_png(const std::filesystem::path& chromium, const std::filesystem::path& html,
                const std::filesystem::path& png, int width, int height);

}  // namespace actlens::report
