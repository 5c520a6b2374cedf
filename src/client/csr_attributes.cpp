#include "client/csr_attributes.hpp"

#include <openssl/objects.h>

#include <algorithm>
#include <map>

#include "client/errors.hpp"
#include "crypto/ossl.hpp"

namespace estfleet::client {
namespace {

constexpr unsigned char kInteger = 0x02;
constexpr unsigned char kOid = 0x06;
constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kSet = 0x31;

// The names EST and IoT people use, where OpenSSL's differ ("id-ecPublicKey", "prime256v1").
const std::map<std::string, std::string, std::less<>>& well_known_names() {
  static const std::map<std::string, std::string, std::less<>> names{
      {"1.2.840.113549.1.9.7", "challengePassword"},
      {"1.2.840.113549.1.9.14", "extensionRequest"},
      {"1.2.840.113549.1.1.1", "rsaEncryption"},
      {"1.2.840.113549.1.1.11", "sha256WithRSAEncryption"},
      {"1.2.840.10045.2.1", "ecPublicKey"},
      {"1.2.840.10045.3.1.7", "secp256r1 (prime256v1)"},
      {"1.3.132.0.34", "secp384r1"},
      {"1.2.840.10045.4.3.2", "ecdsa-with-SHA256"},
      {"1.2.840.10045.4.3.3", "ecdsa-with-SHA384"},
      {"1.3.101.112", "Ed25519"},
      {"2.5.29.17", "subjectAltName"},
      {"1.2.840.113549.1.9.16.2.61", "certificationRequestInfoTemplate"},
      {"1.2.840.113549.1.9.16.2.62", "extensionReqTemplate"},
      {"2.25.231872403115171669323704536858287047134", "IoT details"},
  };
  return names;
}

[[noreturn]] void malformed(const std::string& what) {
  throw ClientError("the csrattrs response is not a valid DER CsrAttrs: " + what);
}

struct Tlv {
  unsigned char tag = 0;
  std::string_view content;
  std::string_view whole;  // tag, length and content
};

// Reads one DER TLV from the front of `in`: low tag numbers, definite minimal lengths.
Tlv read_tlv(std::string_view& in) {
  if (in.size() < 2) {
    malformed("it ends in the middle of an element");
  }
  const auto tag = static_cast<unsigned char>(in[0]);
  if ((tag & 0x1F) == 0x1F) {
    malformed("it uses a multi-byte tag");
  }
  std::size_t length = static_cast<unsigned char>(in[1]);
  std::size_t header = 2;
  if (length & 0x80) {
    const std::size_t bytes = length & 0x7F;
    if (bytes == 0) {
      malformed("it uses an indefinite length");
    }
    if (bytes > 4 || in.size() < 2 + bytes || in[2] == 0) {
      malformed("it has an invalid length");
    }
    length = 0;
    for (std::size_t i = 0; i < bytes; ++i) {
      length = (length << 8) | static_cast<unsigned char>(in[2 + i]);
    }
    if (length < 0x80) {
      malformed("it has a non-minimal length");
    }
    header += bytes;
  }
  if (in.size() - header < length) {
    malformed("an element is longer than what holds it");
  }
  Tlv tlv{tag, in.substr(header, length), in.substr(0, header + length)};
  in.remove_prefix(header + length);
  return tlv;
}

std::string dotted(const ASN1_OBJECT* object) {
  const int length = OBJ_obj2txt(nullptr, 0, object, 1);
  if (length <= 0) {
    malformed("it holds an unprintable OID");
  }
  std::string text(static_cast<std::size_t>(length) + 1, '\0');
  OBJ_obj2txt(text.data(), length + 1, object, 1);
  text.resize(static_cast<std::size_t>(length));
  return text;
}

// Small non-negative INTEGERs (key sizes) in decimal; anything else is summarised.
std::string integer_text(std::string_view content) {
  if (content.empty() || content.size() > 8 || (static_cast<unsigned char>(content[0]) & 0x80)) {
    return "(integer)";
  }
  unsigned long long value = 0;
  for (const char byte : content) {
    value = (value << 8) | static_cast<unsigned char>(byte);
  }
  return std::to_string(value);
}

// Extensions ::= SEQUENCE OF Extension { extnID, critical DEFAULT FALSE, extnValue }: the IDs.
std::string extension_ids(std::string_view extensions) {
  std::string names;
  while (!extensions.empty()) {
    const auto extension = read_tlv(extensions);
    std::string_view fields = extension.content;
    const auto id = extension.tag == kSequence && !fields.empty() ? read_tlv(fields) : Tlv{};
    if (id.tag != kOid) {
      malformed("an extensionRequest value is not a list of extensions");
    }
    names += (names.empty() ? "" : ", ") + oid_display_name(id.whole);
  }
  return names.empty() ? "(no extensions)" : names;
}

std::string value_text(const Tlv& value, bool in_extension_request) {
  if (value.tag == kOid) {
    return oid_display_name(value.whole);
  }
  if (value.tag == kInteger) {
    return integer_text(value.content);
  }
  if (value.tag == kSequence && in_extension_request) {
    return extension_ids(value.content);
  }
  return "(value)";
}

std::string describe_attribute(std::string_view attribute) {
  const auto type = read_tlv(attribute);
  if (type.tag != kOid) {
    malformed("an attribute does not start with its type OID");
  }
  if (attribute.empty()) {
    malformed("an attribute has no SET of values");
  }
  const auto values = read_tlv(attribute);
  if (values.tag != kSet || !attribute.empty()) {
    malformed("an attribute's values are not exactly one SET");
  }
  const std::string name = oid_display_name(type.whole);
  const bool extension_request = name == "extensionRequest";
  std::string joined;
  std::string_view rest = values.content;
  while (!rest.empty()) {
    joined += (joined.empty() ? "" : ", ") + value_text(read_tlv(rest), extension_request);
  }
  return joined.empty() ? name : name + ": " + joined;
}

std::string dotted_oid(const Tlv& oid) {
  const auto* p = reinterpret_cast<const unsigned char*>(oid.whole.data());
  crypto::Asn1ObjectPtr object(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(oid.whole.size())));
  if (!object) {
    malformed("it holds an invalid OID");
  }
  return dotted(object.get());
}

std::optional<crypto::KeyType> curve_key_type(const std::string& curve) {
  if (curve == "1.2.840.10045.3.1.7") {
    return crypto::KeyType::ec_p256;
  }
  if (curve == "1.3.132.0.34") {
    return crypto::KeyType::ec_p384;
  }
  return std::nullopt;
}

std::optional<crypto::KeyType> rsa_key_type(std::string_view integer_content) {
  const auto bits = integer_text(integer_content);
  if (bits == "2048") {
    return crypto::KeyType::rsa_2048;
  }
  if (bits == "3072") {
    return crypto::KeyType::rsa_3072;
  }
  if (bits == "4096") {
    return crypto::KeyType::rsa_4096;
  }
  return std::nullopt;
}

constexpr const char* kEcPublicKey = "1.2.840.10045.2.1";
constexpr const char* kRsaEncryption = "1.2.840.113549.1.1.1";
constexpr const char* kEd25519 = "1.3.101.112";

// The template's subject (fixed values) and key algorithm, into `out`.
void read_request_template(std::string_view body, CsrTemplate& out,
                           std::optional<crypto::KeyType> rsa_hint) {
  const auto version = read_tlv(body);
  if (version.tag != kInteger || version.content != std::string_view("\0", 1)) {
    malformed("the certificationRequestInfoTemplate's version is not v1(0)");
  }
  if (!body.empty() && static_cast<unsigned char>(body[0]) == kSequence) {
    std::string_view rdns = read_tlv(body).content;
    while (!rdns.empty()) {
      const auto rdn = read_tlv(rdns);
      if (rdn.tag != kSet) {
        malformed("the template's subject is not a sequence of SETs");
      }
      std::string_view entries = rdn.content;
      while (!entries.empty()) {
        const auto entry = read_tlv(entries);
        std::string_view fields = entry.content;
        const auto type = entry.tag == kSequence && !fields.empty() ? read_tlv(fields) : Tlv{};
        if (type.tag != kOid) {
          malformed("a template subject attribute does not start with its type OID");
        }
        if (!fields.empty()) {
          const auto value = read_tlv(fields);
          out.fixed_subject.emplace_back(dotted_oid(type), std::string(value.content));
        }
      }
    }
  }
  if (!body.empty() && static_cast<unsigned char>(body[0]) == 0xA0) {
    std::string_view spki = read_tlv(body).content;
    const auto algorithm = read_tlv(spki);
    std::string_view fields = algorithm.content;
    const auto id = algorithm.tag == kSequence && !fields.empty() ? read_tlv(fields) : Tlv{};
    if (id.tag != kOid) {
      malformed("the template's subjectPKInfo has no algorithm");
    }
    const auto name = dotted_oid(id);
    if (name == kEcPublicKey && !fields.empty()) {
      const auto curve = read_tlv(fields);
      if (curve.tag == kOid) {
        out.key_type = curve_key_type(dotted_oid(curve));
      }
    } else if (name == kRsaEncryption) {
      out.key_type = rsa_hint.value_or(crypto::KeyType::rsa_2048);
    } else if (name == kEd25519) {
      out.key_type = crypto::KeyType::ed25519;
    }
  }
}

}  // namespace

CsrTemplate read_csr_template(std::string_view der) {
  CsrTemplate result;
  if (der.empty()) {
    return result;
  }
  const auto outer = read_tlv(der);
  if (outer.tag != kSequence || !der.empty()) {
    malformed("it is not one SEQUENCE");
  }
  std::optional<crypto::KeyType> attribute_key;
  std::optional<std::string_view> template_body;
  std::string_view items = outer.content;
  while (!items.empty()) {
    const auto item = read_tlv(items);
    if (item.tag == kOid) {
      if (dotted_oid(item) == kEd25519) {
        attribute_key = crypto::KeyType::ed25519;
      }
      continue;
    }
    std::string_view fields = item.content;
    const auto type = item.tag == kSequence && !fields.empty() ? read_tlv(fields) : Tlv{};
    if (type.tag != kOid || fields.empty()) {
      malformed("an attribute has no type or values");
    }
    const auto values = read_tlv(fields);
    std::string_view rest = values.content;
    const auto first = rest.empty() ? Tlv{} : read_tlv(rest);
    const auto name = dotted_oid(type);
    if (name == kEcPublicKey && first.tag == kOid) {
      attribute_key = curve_key_type(dotted_oid(first));
    } else if (name == kRsaEncryption && first.tag == kInteger) {
      attribute_key = rsa_key_type(first.content);
    } else if (name == "1.2.840.113549.1.9.16.2.61") {
      if (first.tag != kSequence || !rest.empty()) {
        malformed("the certificationRequestInfoTemplate attribute must hold one template");
      }
      template_body = first.content;
    }
  }
  if (template_body) {
    read_request_template(*template_body, result, attribute_key);
  }
  if (!result.key_type) {
    result.key_type = attribute_key;
  }
  return result;
}

CsrTemplate advised_csr_template(const std::function<std::string()>& fetch, bool required,
                                 const std::function<void(const std::string&)>& warn) {
  std::string problem;
  try {
    const auto der = fetch();
    if (!der.empty()) {
      return read_csr_template(der);
    }
    problem = "the server has no csrattrs for this profile (204 or an empty body)";
  } catch (const std::exception& e) {
    // Anything, since the CSR can be built without them; a transport failure will show again in
    // the enrollment itself.
    problem = e.what();
  }
  std::replace_if(
      problem.begin(), problem.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (required) {
    throw ClientError("csrattrs are required (--require-csrattrs): " + problem);
  }
  warn("ignoring the server's csrattrs, the CSR follows the configuration alone: " + problem);
  return {};
}

std::string oid_display_name(std::string_view oid_der) {
  const auto* p = reinterpret_cast<const unsigned char*>(oid_der.data());
  crypto::Asn1ObjectPtr object(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(oid_der.size())));
  if (!object || p != reinterpret_cast<const unsigned char*>(oid_der.data()) + oid_der.size()) {
    malformed("it holds an invalid OID");
  }
  std::string text = dotted(object.get());
  const auto& names = well_known_names();
  if (const auto known = names.find(text); known != names.end()) {
    return known->second;
  }
  if (const int nid = OBJ_obj2nid(object.get()); nid != NID_undef) {
    return OBJ_nid2ln(nid);
  }
  return text;
}

std::vector<std::string> describe_csr_attributes(std::string_view der) {
  std::vector<std::string> lines;
  if (der.empty()) {
    return lines;
  }
  const auto outer = read_tlv(der);
  if (outer.tag != kSequence) {
    malformed("it is not a SEQUENCE");
  }
  if (!der.empty()) {
    malformed("data follows the SEQUENCE");
  }
  std::string_view items = outer.content;
  while (!items.empty()) {
    const auto item = read_tlv(items);
    if (item.tag == kOid) {
      lines.push_back(oid_display_name(item.whole));
    } else if (item.tag == kSequence) {
      lines.push_back(describe_attribute(item.content));
    } else {
      malformed("an entry is neither an OID nor an attribute");
    }
  }
  return lines;
}

}  // namespace estfleet::client
