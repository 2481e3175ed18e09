// SPDX-License-Identifier: MIT
#include "nooks/domain/ElfSymbols.h"

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <fstream>
#include <iterator>

namespace nk {

Result<ElfSymbols> ElfSymbols::load(std::string const& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file)
        return make_error(ErrorCode::NotFound, "symbols: cannot open {}", path);
    std::vector<char> data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (data.size() < sizeof(Elf64_Ehdr) || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0 || data[EI_CLASS] != ELFCLASS64)
        return make_error(ErrorCode::InvalidArgument, "symbols: {} is not a 64-bit ELF file", path);
    Elf64_Ehdr header;
    std::memcpy(&header, data.data(), sizeof(header));
    if (header.e_shoff == 0 || header.e_shentsize != sizeof(Elf64_Shdr)
        || header.e_shoff + uint64_t(header.e_shnum) * sizeof(Elf64_Shdr) > data.size())
        return make_error(ErrorCode::InvalidArgument, "symbols: {} has no readable section table", path);
    std::vector<Elf64_Shdr> sections(header.e_shnum);
    std::memcpy(sections.data(), data.data() + header.e_shoff, sections.size() * sizeof(Elf64_Shdr));

    auto read_table = [&](uint32_t type) -> std::vector<Function> {
        std::vector<Function> functions;
        for (auto const& section : sections) {
            if (section.sh_type != type || section.sh_link >= sections.size())
                continue;
            auto const& strings = sections[section.sh_link];
            if (section.sh_offset + section.sh_size > data.size() || strings.sh_offset + strings.sh_size > data.size())
                continue;
            for (uint64_t offset = 0; offset + sizeof(Elf64_Sym) <= section.sh_size; offset += sizeof(Elf64_Sym)) {
                Elf64_Sym symbol;
                std::memcpy(&symbol, data.data() + section.sh_offset + offset, sizeof(symbol));
                if (ELF64_ST_TYPE(symbol.st_info) != STT_FUNC || symbol.st_value == 0 || symbol.st_name >= strings.sh_size)
                    continue;
                auto const* name = data.data() + strings.sh_offset + symbol.st_name;
                functions.push_back({ symbol.st_value, symbol.st_size, std::string(name, strnlen(name, strings.sh_size - symbol.st_name)) });
            }
        }
        return functions;
    };
    ElfSymbols symbols;
    symbols.m_functions = read_table(SHT_SYMTAB);
    if (symbols.m_functions.empty())
        symbols.m_functions = read_table(SHT_DYNSYM);
    std::ranges::sort(symbols.m_functions, {}, &Function::start);
    return symbols;
}

std::string ElfSymbols::describe(uint64_t offset) const
{
    auto it = std::ranges::upper_bound(m_functions, offset, {}, &Function::start);
    if (it == m_functions.begin())
        return {};
    --it;
    if (offset >= it->start + std::max<uint64_t>(it->size, 1))
        return {};
    return fmt::format("{}+{:#x}", it->name, offset - it->start);
}

} // namespace nk
