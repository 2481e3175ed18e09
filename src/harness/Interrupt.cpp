// SPDX-License-Identifier: MIT
#include "harness/Interrupt.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unistd.h>

namespace nk::harness {

namespace {
std::atomic<bool> g_interrupted { false };
}

void install_interrupt_handler()
{
    static std::atomic<bool> installed { false };
    if (installed.exchange(true))
        return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
        for (;;) {
            int signal = 0;
            if (sigwait(&set, &signal) != 0)
                continue;
            if (!g_interrupted.exchange(true)) {
                char const message[] = "\ninterrupted: stopping and cleaning up (again to quit at once)\n";
                (void)!::write(STDERR_FILENO, message, sizeof(message) - 1);
                continue;
            }
            char const message[] = "\ninterrupted twice: quitting without cleaning up\n";
            (void)!::write(STDERR_FILENO, message, sizeof(message) - 1);
            ::_exit(128 + signal);
        }
    }).detach();
}

bool interrupted() { return g_interrupted.load(std::memory_order_relaxed); }

} // namespace nk::harness
