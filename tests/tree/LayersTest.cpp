// SPDX-License-Identifier: MIT
// The folder tree is the architecture (docs/ARCHITECTURE.md, "Layers and
// folders"): a layer includes only the layers below it, and a driver includes
// only the kernel API and the hardware's programming interface. Checked over
// the source files themselves, so a new upward include fails here.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Bottom to top. A folder may include its own files and those of folders
// listed before it.
std::vector<std::string> const layers { "base", "control", "agent", "abi", "inject", "kernel", "devices", "classes", "nooks",
    "shadow", "frontends", "system", "harness", "tools", "cli" };

fs::path const source_dir { NOOKS_SOURCE_DIR };

struct Include {
    fs::path file;
    unsigned line;
    std::string target;
};

// Every `#include "..."` in the C and C++ files under `root`.
std::vector<Include> quoted_includes(fs::path const& root)
{
    static std::regex const include_line { R"re(^\s*#\s*include\s*"([^"]+)")re" };
    std::vector<Include> found;
    for (auto const& entry : fs::recursive_directory_iterator(root)) {
        auto extension = entry.path().extension();
        if (!entry.is_regular_file() || (extension != ".h" && extension != ".cpp" && extension != ".c"))
            continue;
        std::ifstream file(entry.path());
        std::string text;
        for (unsigned number = 1; std::getline(file, text); ++number) {
            std::smatch match;
            if (std::regex_search(text, match, include_line))
                found.push_back({ fs::relative(entry.path(), source_dir), number, match[1] });
        }
    }
    return found;
}

int rank_of(std::string const& folder)
{
    for (size_t i = 0; i < layers.size(); ++i) {
        if (layers[i] == folder)
            return static_cast<int>(i);
    }
    return -1;
}

TEST(Layers, EveryFolderOfSrcHasALayer)
{
    for (auto const& entry : fs::directory_iterator(source_dir / "src")) {
        if (!entry.is_directory())
            continue;
        EXPECT_GE(rank_of(entry.path().filename().string()), 0)
            << "src/" << entry.path().filename().string() << " is in no layer: add it to docs/ARCHITECTURE.md and to this test";
    }
}

TEST(Layers, NoLayerIncludesAHigherOne)
{
    auto includes = quoted_includes(source_dir / "src");
    ASSERT_GT(includes.size(), 100u) << "found too few includes under " << source_dir;
    for (auto const& include : includes) {
        auto from = include.file.begin();
        ++from; // "src"
        auto target_folder = include.target.substr(0, include.target.find('/'));
        if (include.target.find('/') == std::string::npos)
            continue; // a file next to it
        auto includer = rank_of(from->string());
        auto included = rank_of(target_folder);
        if (included < 0)
            continue; // not a folder of src (a generated or test header)
        EXPECT_LE(included, includer) << include.file.string() << ":" << include.line << " (layer " << from->string()
                                      << ") includes " << include.target << " (layer " << target_folder << ", above it)";
    }
}

TEST(Layers, DriversIncludeOnlyTheKernelApiAndTheHardware)
{
    auto includes = quoted_includes(source_dir / "drivers");
    for (auto const& include : includes) {
        // Quoted includes are the driver's own files, in its folder.
        EXPECT_EQ(include.target.find('/'), std::string::npos)
            << include.file.string() << ":" << include.line << " includes \"" << include.target
            << "\": a driver sees <nooks/...>, <hw/...> and its own files only";
        EXPECT_TRUE(fs::exists(source_dir / include.file.parent_path() / include.target))
            << include.file.string() << ":" << include.line << " includes \"" << include.target << "\", not a file of its own folder";
    }
}

} // namespace
