// SPDX-License-Identifier: MIT
#include "kernel/module/Module.h"

namespace nk {

char const* module_state_name(ModuleState state)
{
    switch (state) {
    case ModuleState::Loaded: return "loaded";
    case ModuleState::Live: return "live";
    case ModuleState::Failed: return "failed";
    case ModuleState::Stopped: return "stopped";
    }
    return "?";
}

} // namespace nk
