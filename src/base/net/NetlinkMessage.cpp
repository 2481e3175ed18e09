// SPDX-License-Identifier: MIT
#include "base/net/NetlinkMessage.h"

namespace nk {

namespace {

constexpr size_t align(size_t size) { return NLMSG_ALIGN(size); }

// struct rtattr and struct nlattr share this layout.
struct AttributeHeader {
    uint16_t length;
    uint16_t type;
};
constexpr size_t attribute_header = align(sizeof(AttributeHeader));
// The kernel's nested/byte-order flags live in the type's top bits.
constexpr uint16_t attribute_type_mask = 0x3fff;

} // namespace

NetlinkMessage::NetlinkMessage(uint16_t type, uint16_t flags)
    : m_bytes(align(sizeof(nlmsghdr)))
{
    header().nlmsg_type = type;
    header().nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST);
}

void NetlinkMessage::append(void const* data, size_t size)
{
    auto at = m_bytes.size();
    m_bytes.resize(at + align(size));
    std::memcpy(m_bytes.data() + at, data, size);
}

NetlinkMessage& NetlinkMessage::attribute(uint16_t type, void const* data, size_t size)
{
    AttributeHeader attr { static_cast<uint16_t>(attribute_header + size), type };
    auto at = m_bytes.size();
    m_bytes.resize(at + attribute_header + align(size));
    std::memcpy(m_bytes.data() + at, &attr, sizeof attr);
    if (size > 0)
        std::memcpy(m_bytes.data() + at + attribute_header, data, size);
    return *this;
}

NetlinkMessage& NetlinkMessage::attribute_string(uint16_t type, std::string_view value)
{
    std::string terminated(value);
    return attribute(type, terminated.c_str(), terminated.size() + 1);
}

std::span<std::byte const> NetlinkMessage::finish(uint32_t sequence)
{
    header().nlmsg_len = static_cast<uint32_t>(m_bytes.size());
    header().nlmsg_seq = sequence;
    return m_bytes;
}

NetlinkAttributes::NetlinkAttributes(std::span<std::byte const> bytes)
    : m_bytes(bytes)
{
}

std::optional<std::span<std::byte const>> NetlinkAttributes::find(uint16_t type) const
{
    size_t at = 0;
    while (at + sizeof(AttributeHeader) <= m_bytes.size()) {
        AttributeHeader attr;
        std::memcpy(&attr, m_bytes.data() + at, sizeof attr);
        if (attr.length < sizeof attr || at + attr.length > m_bytes.size())
            break;
        if ((attr.type & attribute_type_mask) == type)
            return m_bytes.subspan(at + attribute_header, attr.length - attribute_header);
        at += align(attr.length);
    }
    return std::nullopt;
}

std::optional<uint32_t> NetlinkAttributes::u32(uint16_t type) const
{
    auto value = find(type);
    if (!value || value->size() < sizeof(uint32_t))
        return std::nullopt;
    uint32_t result;
    std::memcpy(&result, value->data(), sizeof result);
    return result;
}

std::optional<uint8_t> NetlinkAttributes::u8(uint16_t type) const
{
    auto value = find(type);
    if (!value || value->empty())
        return std::nullopt;
    return static_cast<uint8_t>((*value)[0]);
}

std::optional<std::string> NetlinkAttributes::string(uint16_t type) const
{
    auto value = find(type);
    if (!value)
        return std::nullopt;
    std::string text(reinterpret_cast<char const*>(value->data()), value->size());
    if (auto nul = text.find('\0'); nul != std::string::npos)
        text.resize(nul);
    return text;
}

std::vector<std::span<std::byte const>> split_netlink_messages(std::span<std::byte const> bytes)
{
    std::vector<std::span<std::byte const>> messages;
    size_t at = 0;
    while (at + sizeof(nlmsghdr) <= bytes.size()) {
        nlmsghdr header;
        std::memcpy(&header, bytes.data() + at, sizeof header);
        if (header.nlmsg_len < sizeof header || at + header.nlmsg_len > bytes.size())
            break;
        messages.push_back(bytes.subspan(at, header.nlmsg_len));
        at += align(header.nlmsg_len);
    }
    return messages;
}

} // namespace nk
