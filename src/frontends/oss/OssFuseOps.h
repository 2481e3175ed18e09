// SPDX-License-Identifier: MIT
#pragma once

// The FUSE low-level callbacks of the OSS frontend, shared between the
// namespace half (OssFuseAttr.cpp: lookup, attributes, directory) and the
// I/O half (OssFuseOps.cpp: open, read, write, ioctl, poll, flush, release),
// which also builds the operations table. Internal. Every callback runs on
// a FUSE worker thread and answers its request exactly once.

#define FUSE_USE_VERSION 35
#include "frontends/oss/OssNodes.h"

#include <fuse3/fuse_lowlevel.h>

namespace nk::oss_fuse {

inline OssFrontend& frontend(fuse_req_t req) { return *static_cast<OssFrontend*>(fuse_req_userdata(req)); }
inline constexpr fuse_ino_t root_ino = FUSE_ROOT_ID;

void op_lookup(fuse_req_t req, fuse_ino_t parent, char const* name);
void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi);
void op_statfs(fuse_req_t req, fuse_ino_t ino);

timespec now();

} // namespace nk::oss_fuse
