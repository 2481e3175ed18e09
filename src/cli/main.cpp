// SPDX-License-Identifier: MIT
// nooks: driver isolation and transparent driver recovery, in user space.

#include "cli/Commands.h"
#include "harness/Interrupt.h"

#include <nooks/kernel.h>

#include <fmt/format.h>

#include <cstdio>
#include <exception>

namespace nk::cli {

int fail(char const* command, std::string const& message)
{
    // After Ctrl-C the failure that follows is the interruption itself.
    if (harness::interrupted()) {
        std::fprintf(stderr, "nooks %s: interrupted; tearing down what it set up (%s)\n", command, message.c_str());
        return 130;
    }
    std::fprintf(stderr, "nooks %s: error: %s\n", command, message.c_str());
    return 1;
}

} // namespace nk::cli

int main(int argc, char** argv)
{
    CLI::App app { "nooks: drivers in protection domains, recovered transparently by shadow drivers" };
    app.set_version_flag("--version", fmt::format("nooks {} (kernel API version {})", NOOKS_VERSION, NK_API_VERSION));
    app.require_subcommand(1);
    int result = 0;
    nk::cli::add_run_command(app, result);
    nk::cli::add_demo_command(app, result);
    nk::cli::add_ctl_command(app, result);
    nk::cli::add_eval_command(app, result);
    nk::cli::add_agent_command(app, result);
    nk::cli::add_exec_command(app, result);
    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& error) {
        return app.exit(error);
    } catch (std::exception const& error) {
        std::fprintf(stderr, "nooks: error: %s\n", error.what());
        return 1;
    }
    return result;
}
