// SPDX-License-Identifier: MIT
// `nooks eval apps [--class C]`: the fault-tolerance table, measured.

#include "cli/Commands.h"
#include "harness/Interrupt.h"
#include "harness/KernelProcess.h"
#include "system/System.h"
#include "tools/eval/AppEval.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nk::cli {

namespace {

struct EvalFlags {
    std::string classes;
    std::string modes { "native,nooks,shadow" };
    std::string apps;
    unsigned faults { 3 };
    bool concurrent { false };
    bool json { false };
    std::string output;
    std::string workdir { "/tmp" };
};

std::vector<std::string> split(std::string const& text)
{
    std::vector<std::string> parts;
    std::stringstream stream(text);
    std::string part;
    while (std::getline(stream, part, ','))
        if (!part.empty())
            parts.push_back(part);
    return parts;
}

int run(EvalFlags const& flags)
{
    eval::Options options;
    options.classes = split(flags.classes);
    options.modes = split(flags.modes);
    options.apps = split(flags.apps);
    options.faults = flags.faults;
    options.concurrent = flags.concurrent;
    options.work_root = flags.workdir;
    if (!std::filesystem::is_directory(flags.workdir))
        return fail("eval", fmt::format("--workdir {}: not a directory", flags.workdir));
    if (auto valid = eval::validate(options); !valid)
        return fail("eval", valid.error().message());
    if (auto root = check_privileges(); !root)
        return fail("eval", "the evaluation needs root: it mounts FUSE and ext4 and attaches loop devices");
    if (auto fuse = check_fuse_device(); !fuse)
        return fail("eval", fuse.error().message());
    harness::install_interrupt_handler();
    options.nooks_binary = harness::find_nooks_binary();
    auto progress = [&](std::string const& line) {
        if (!flags.json)
            std::printf("%s\n", line.c_str());
        else
            std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stdout);
    };
    if (!flags.json)
        std::printf("nooks eval: %s; %s; %s; %u faults per run\n", flags.classes.empty() ? "every class" : flags.classes.c_str(),
            flags.modes.c_str(), flags.apps.empty() ? "every application" : flags.apps.c_str(), flags.faults);
    auto cells = eval::evaluate(options, progress);
    if (!cells)
        return fail("eval", cells.error().message());
    auto json = eval::to_json(*cells, options);
    if (flags.json)
        std::printf("%s\n", json.dump(2).c_str());
    else
        std::printf("\n%s", eval::format_table(*cells, options).c_str());
    if (!flags.output.empty())
        std::ofstream(flags.output) << json.dump(2) << "\n";
    return 0;
}

} // namespace

void add_eval_command(CLI::App& app, int& result)
{
    auto flags = std::make_shared<EvalFlags>();
    auto* eval = app.add_subcommand("eval", "Evaluations");
    eval->require_subcommand(1);
    auto* apps = eval->add_subcommand("apps", "Real applications under injected driver faults, in each mode: ✓ / MALFUNCTION / CRASH");
    apps->add_option("--class", flags->classes, "Comma-separated driver classes (default: every class: block,net)");
    apps->add_option("--modes", flags->modes, "Comma-separated modes (default: native,nooks,shadow)");
    apps->add_option("--apps", flags->apps, "Comma-separated applications (default: every one of the classes: block: compiler,encoder,database; net: transfer,session,analyzer)");
    apps->add_option("--faults", flags->faults, "Faults injected per run (default: 3)")->check(CLI::Range(1, 20));
    apps->add_flag("--concurrent", flags->concurrent, "Run a class's applications together on one stack");
    apps->add_flag("--json", flags->json, "Print the results as JSON");
    apps->add_option("--output", flags->output, "Also write the JSON results to this file");
    apps->add_option("--workdir", flags->workdir, "Directory for the evaluation's temporary stacks (default: /tmp)");
    apps->callback([flags, &result] { result = run(*flags); });
}

} // namespace nk::cli
