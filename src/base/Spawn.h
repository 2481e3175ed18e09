// SPDX-License-Identifier: MIT
#pragma once

// Spawning programs with posix_spawn. Every program nooks starts (a domain
// launcher, a kernel under the harness, an agent's notification command)
// must begin with a clean signal state, whatever its parent blocks or
// ignores (the kernel blocks its stop signals for sigwait, the agent ignores
// SIGPIPE): no signal blocked, every signal at its default action.

#include <spawn.h>

namespace nk {

enum class ProcessGroup { Inherit, Own };

// Sets `attributes` (initialized by the caller) to a clean signal state and,
// with ProcessGroup::Own, a process group of the child's own (so a Ctrl-C at
// the terminal does not reach it, and it can be signalled whole).
void set_clean_spawn_state(posix_spawnattr_t& attributes, ProcessGroup group);

} // namespace nk
