// SPDX-License-Identifier: MIT
// The namespace half of the OSS frontend's FUSE callbacks: names, attributes
// (kept in memory; a sound file's size is always 0) and the directory.

#include "frontends/oss/OssFuseOps.h"

#include <cerrno>
#include <sys/stat.h>
#include <vector>

namespace nk::oss_fuse {

// Attributes may be cached briefly; entries not at all: a card can go and
// come back (as new files) with driver recovery.
static constexpr double attr_timeout = 1.0;
static constexpr double entry_timeout = 0.0;

timespec now()
{
    timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
}

static struct stat node_stat(OssFrontend::Node& node)
{
    struct stat st { };
    MutexLocker lock(node.mutex);
    st.st_ino = node.ino;
    st.st_mode = S_IFREG | node.mode;
    st.st_nlink = node.card->card->alive() ? 1 : 0;
    st.st_uid = node.uid;
    st.st_gid = node.gid;
    st.st_size = 0;
    st.st_blksize = 4096;
    st.st_atim = node.atime;
    st.st_mtim = node.mtime;
    st.st_ctim = node.ctime;
    return st;
}

static struct stat root_stat()
{
    static timespec const mounted = now();
    struct stat st { };
    st.st_ino = root_ino;
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
    st.st_atim = st.st_mtim = st.st_ctim = mounted;
    return st;
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, char const* name)
{
    if (parent != root_ino) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    auto node = frontend(req).node_by_name(name);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fuse_entry_param entry {};
    entry.ino = node->ino;
    entry.generation = 1;
    entry.attr = node_stat(*node);
    entry.attr_timeout = attr_timeout;
    entry.entry_timeout = entry_timeout;
    fuse_reply_entry(req, &entry);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*)
{
    if (ino == root_ino) {
        auto st = root_stat();
        fuse_reply_attr(req, &st, attr_timeout);
        return;
    }
    auto node = frontend(req).node_by_ino(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    auto st = node_stat(*node);
    fuse_reply_attr(req, &st, attr_timeout);
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*)
{
    if (ino == root_ino) {
        fuse_reply_err(req, EPERM);
        return;
    }
    auto node = frontend(req).node_by_ino(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    // open(O_TRUNC) (sox's fopen "wb") truncates to 0: accepted, nothing to do.
    if ((to_set & FUSE_SET_ATTR_SIZE) != 0 && attr->st_size != 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    {
        MutexLocker lock(node->mutex);
        auto const t = now();
        if ((to_set & FUSE_SET_ATTR_MODE) != 0)
            node->mode = attr->st_mode & 07777;
        if ((to_set & FUSE_SET_ATTR_UID) != 0)
            node->uid = attr->st_uid;
        if ((to_set & FUSE_SET_ATTR_GID) != 0)
            node->gid = attr->st_gid;
        if ((to_set & FUSE_SET_ATTR_ATIME_NOW) != 0)
            node->atime = t;
        else if ((to_set & FUSE_SET_ATTR_ATIME) != 0)
            node->atime = attr->st_atim;
        if ((to_set & FUSE_SET_ATTR_MTIME_NOW) != 0)
            node->mtime = t;
        else if ((to_set & FUSE_SET_ATTR_MTIME) != 0)
            node->mtime = attr->st_mtim;
        node->ctime = t;
    }
    auto st = node_stat(*node);
    fuse_reply_attr(req, &st, attr_timeout);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*)
{
    if (ino != root_ino) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    struct Entry {
        std::string name;
        struct stat st;
    };
    std::vector<Entry> entries;
    entries.push_back({ ".", root_stat() });
    entries.push_back({ "..", root_stat() });
    for (auto const& node : frontend(req).listed_nodes())
        entries.push_back({ node->name, node_stat(*node) });

    std::vector<char> buffer(size);
    size_t used = 0;
    for (auto index = static_cast<size_t>(offset); index < entries.size(); ++index) {
        auto const& entry = entries[index];
        auto needed = fuse_add_direntry(req, buffer.data() + used, size - used, entry.name.c_str(), &entry.st,
            static_cast<off_t>(index + 1));
        if (needed > size - used)
            break;
        used += needed;
    }
    fuse_reply_buf(req, buffer.data(), used);
}

void op_statfs(fuse_req_t req, fuse_ino_t)
{
    struct statvfs st { };
    st.f_bsize = 4096;
    st.f_frsize = 4096;
    st.f_namemax = 31;
    st.f_files = frontend(req).listed_nodes().size();
    fuse_reply_statfs(req, &st);
}

} // namespace nk::oss_fuse
