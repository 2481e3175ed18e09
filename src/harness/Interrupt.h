// SPDX-License-Identifier: MIT
#pragma once

// Ctrl-C for the long-running tools (`nooks demo`, `nooks eval`).
//
// Their stacks must come down in order (applications, ext4, loop device, then
// the kernel and its FUSE mount), which a signal handler cannot do. So the
// first SIGINT, SIGTERM or SIGHUP only asks everything to stop: run_command
// ends the programs it runs (SIGTERM, then SIGKILL), loops check interrupted(),
// and the tool unwinds normally, tearing each stack down in its destructors.
// A second signal exits at once.

namespace nk::harness {

// Blocks those signals in the calling thread (so in every thread started
// after it) and starts the thread that waits for them. Call once, from the
// main thread, before starting any other thread.
void install_interrupt_handler();

// True once a stop was asked for. Any thread.
bool interrupted();

} // namespace nk::harness
