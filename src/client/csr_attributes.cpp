#include "client/csr_attributes.hpp"

#include <openssl/objects.h>

#include "client/errors.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::client {
namespace {

struct Tlv {
  unsigned char tag = 0;
  std::string_view content;
  std::string_view whole;
};

// Reads one DER TLV from the front of `in` (definite lengths up to 4 bytes).
Tlv read_tlv(std::string_view& in) {
  const auto bad = [] { return ClientError("the csrattrs response is not valid DER"); };
  if (in.size() < 2) {
    throw bad();
  }
  const auto tag = static_cast<unsigned char>(in[0]);
  std::size_t length = static_cast<unsigned char>(in[1]);
  std::size_t header = 2;
  if (length & 0x80) {
    const std::size_t bytes = length & 0x7F;
    if (bytes == 0 || bytes > 4 || in.size() < 2 + bytes) {
      throw bad();
    }
    length = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      length = (length << 8) | static_cast<unsigned char>(in[2 + i]);
    }
    header += bytes;
  }
  if (in.size() - header < length) {
    throw bad();
  }
  Tlv tlv{tag, in.substr(header, length), in.substr(0, header + length)};
  in.remove_prefix(header + length);
  return tlv;
}

std::string oid_name(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  crypto::Asn1ObjectPtr object(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(der.size())));
  if (!object) {
    throw ClientError("the csrattrs response holds an invalid OID");
  }
  const int nid = OBJ_obj2nid(object.get());
  if (nid != NID_undef) {
    return OBJ_nid2ln(nid);
  }
  char buffer[128];
  OBJ_obj2txt(buffer, sizeof buffer, object.get(), 1);
  return buffer;
}

}  // namespace

std::vector<std::string> describe_csr_attributes(std::string_view der) {
  std::vector<std::string> lines;
  if (der.empty()) {
    return lines;
  }
  auto outer = read_tlv(der);
  if (outer.tag != 0x30 || !der.empty()) {
    throw ClientError("the csrattrs response is not a DER SEQUENCE");
  }
  std::string_view items = outer.content;
  while (!items.empty()) {
    const auto item = read_tlv(items);
    if (item.tag == 0x06) {
      lines.push_back(oid_name(item.whole));
      continue;
    }
    if (item.tag != 0x30) {
      throw ClientError("the csrattrs response holds an entry that is neither OID nor attribute");
    }
    std::string_view attribute = item.content;
    const auto type = read_tlv(attribute);
    if (type.tag != 0x06) {
      throw ClientError("a csrattrs attribute does not start with its type OID");
    }
    std::string line = oid_name(type.whole);
    const auto values = read_tlv(attribute);
    std::string_view rest = values.content;
    std::string joined;
    while (!rest.empty()) {
      const auto value = read_tlv(rest);
      joined += (joined.empty() ? "" : ", ") +
                (value.tag == 0x06 ? oid_name(value.whole) : std::string("(value)"));
    }
    lines.push_back(joined.empty() ? line : line + ": " + joined);
  }
  return lines;
}

}  // namespace estfleet::client
