// SPDX-License-Identifier: MIT
#include "KernelControl.h"

#include "harness/Command.h"

namespace nk::bench {

Result<nlohmann::json> kernel_control(std::string const& nooks, std::string const& socket, std::string const& command)
{
    auto result = TRY(harness::run_checked({ nooks, "ctl", "--control", socket, "--json", command }, { .timeout = std::chrono::seconds(10) }));
    auto json = nlohmann::json::parse(result.output, nullptr, false);
    if (json.is_discarded())
        return make_error(ErrorCode::Internal, "nooks ctl {} printed no JSON: {}", command, result.output);
    return json;
}

Result<double> crossings_so_far(std::string const& nooks, std::string const& socket)
{
    auto list = TRY(kernel_control(nooks, socket, "list"));
    double crossings = 0;
    for (auto const& module : list.value("modules", nlohmann::json::array())) {
        if (!module.contains("xpc"))
            continue;
        crossings += module["xpc"].value("calls", 0.0) + module["xpc"].value("kernel_calls", 0.0);
    }
    return crossings;
}

} // namespace nk::bench
