// The one translation unit that uses OpenSSL's ENGINE API (deprecated in OpenSSL 3, and still the
// only way to reach libp11's pkcs11 engine from Debian 12's packages), and the one that talks to a
// PKCS#11 module directly (key generation and inspection, which the engine cannot do).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/pkcs11_key.hpp"

#include <dlfcn.h>
#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <p11-kit/pkcs11.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "crypto/encoding.hpp"
#include "crypto/error.hpp"

namespace estfleet::crypto {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// RFC 7512 URIs

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string pct_decode(std::string_view text, std::string_view attribute) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_digit_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      throw std::invalid_argument("the PKCS#11 URI's '" + std::string(attribute) +
                                  "' has a '%' that is not followed by two hex digits");
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::string pct_encode(std::string_view value) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4U]);
      out.push_back(kHex[byte & 0x0FU]);
    }
  }
  return out;
}

std::string id_hex(const std::string& id) {
  std::string hex;
  static constexpr std::string_view kHex = "0123456789abcdef";
  for (const char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    hex.push_back(kHex[byte >> 4U]);
    hex.push_back(kHex[byte & 0x0FU]);
  }
  return hex;
}

// ---------------------------------------------------------------------------------------------
// A PKCS#11 module reached directly: for what the engine cannot do (generate a key pair with
// chosen attributes, read a key's attributes) and for precise errors before the engine starts.

std::string rv_text(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
      return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
      return "CKR_PIN_LOCKED";
    case CKR_TOKEN_NOT_RECOGNIZED:
      return "CKR_TOKEN_NOT_RECOGNIZED";
    case CKR_MECHANISM_INVALID:
      return "CKR_MECHANISM_INVALID";
    case CKR_TEMPLATE_INCONSISTENT:
      return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_DEVICE_MEMORY:
      return "CKR_DEVICE_MEMORY";
    default: {
      std::array<char, 24> text{};
      std::snprintf(text.data(), text.size(), "CKR 0x%lx", static_cast<unsigned long>(rv));
      return text.data();
    }
  }
}

std::string trimmed_label(const unsigned char* label, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(label), size);
  const auto end = text.find_last_not_of(' ');
  return end == std::string::npos ? std::string() : text.substr(0, end + 1);
}

class Module {
 public:
  explicit Module(const fs::path& path) {
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle_ == nullptr) {
      const char* why = dlerror();
      throw CryptoError("cannot load the PKCS#11 module " + path.string() + ": " +
                        (why != nullptr ? why : "unknown error"));
    }
    auto* symbol = dlsym(handle_, "C_GetFunctionList");
    CK_FUNCTION_LIST_PTR functions = nullptr;
    if (symbol == nullptr || reinterpret_cast<CK_C_GetFunctionList>(symbol)(&functions) != CKR_OK ||
        functions == nullptr) {
      dlclose(handle_);
      throw CryptoError(path.string() + " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    f_ = functions;
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = f_->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      dlclose(handle_);
      throw CryptoError("the PKCS#11 module " + path.string() + " failed to initialise (" +
                        rv_text(rv) + ")");
    }
    // Already initialised means the engine holds it in this process: it is not ours to finalise.
    owner_ = rv == CKR_OK;
  }
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module() {
    if (owner_) {
      f_->C_Finalize(nullptr);
    }
    dlclose(handle_);
  }

  CK_FUNCTION_LIST_PTR operator->() const { return f_; }

  // The slot whose token has this label. Throws CryptoError naming the token.
  CK_SLOT_ID find_slot(const std::string& token) const {
    CK_ULONG count = 0;
    if (f_->C_GetSlotList(CK_TRUE, nullptr, &count) != CKR_OK) {
      throw CryptoError("cannot list the PKCS#11 module's slots");
    }
    std::vector<CK_SLOT_ID> slots(count);
    if (count > 0 && f_->C_GetSlotList(CK_TRUE, slots.data(), &count) != CKR_OK) {
      throw CryptoError("cannot list the PKCS#11 module's slots");
    }
    for (CK_ULONG i = 0; i < count; ++i) {
      CK_TOKEN_INFO info{};
      if (f_->C_GetTokenInfo(slots[i], &info) == CKR_OK &&
          trimmed_label(info.label, sizeof(info.label)) == token) {
        return slots[i];
      }
    }
    throw CryptoError("no PKCS#11 token labelled '" + token + "' is present");
  }

 private:
  void* handle_ = nullptr;
  CK_FUNCTION_LIST_PTR f_ = nullptr;
  bool owner_ = false;
};

// A logged-in session on one token. It never calls C_Logout: the login belongs to the whole
// process (PKCS#11 logs a token in per application), and the engine may share it.
class Session {
 public:
  Session(const Module& module, const Pkcs11Uri& uri, const std::string& pin) : module_(module) {
    const CK_SLOT_ID slot = module.find_slot(uri.token);
    const CK_RV rv =
        module->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h_);
    if (rv != CKR_OK) {
      throw CryptoError("cannot open a session on PKCS#11 token '" + uri.token + "' (" +
                        rv_text(rv) + ")");
    }
    std::string pin_copy = pin;
    const CK_RV login = module->C_Login(
        h_, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(pin_copy.data()), pin_copy.size());
    OPENSSL_cleanse(pin_copy.data(), pin_copy.size());
    if (login == CKR_OK || login == CKR_USER_ALREADY_LOGGED_IN) {
      return;
    }
    module->C_CloseSession(h_);
    if (login == CKR_PIN_INCORRECT) {
      throw CryptoError("the PIN for PKCS#11 token '" + uri.token + "' is wrong");
    }
    if (login == CKR_PIN_LOCKED) {
      throw CryptoError("the user PIN of PKCS#11 token '" + uri.token +
                        "' is locked (too many wrong PINs); the security officer must reset it");
    }
    throw CryptoError("cannot log in to PKCS#11 token '" + uri.token + "' (" + rv_text(login) +
                      ")");
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() { module_->C_CloseSession(h_); }

  // The objects of `object_class` that carry the URI's label and/or id.
  std::vector<CK_OBJECT_HANDLE> find(const Pkcs11Uri& uri, CK_OBJECT_CLASS object_class) const {
    std::vector<CK_ATTRIBUTE> query{{CKA_CLASS, &object_class, sizeof(object_class)}};
    std::string label = uri.object.value_or("");
    std::string id = uri.id.value_or("");
    if (uri.object) {
      query.push_back({CKA_LABEL, label.data(), label.size()});
    }
    if (uri.id) {
      query.push_back({CKA_ID, id.data(), id.size()});
    }
    if (module_->C_FindObjectsInit(h_, query.data(), query.size()) != CKR_OK) {
      throw CryptoError("cannot search PKCS#11 token '" + uri.token + "'");
    }
    std::vector<CK_OBJECT_HANDLE> found;
    std::array<CK_OBJECT_HANDLE, 16> batch{};
    CK_ULONG count = 0;
    while (module_->C_FindObjects(h_, batch.data(), batch.size(), &count) == CKR_OK && count > 0) {
      found.insert(found.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(count));
    }
    module_->C_FindObjectsFinal(h_);
    return found;
  }

  // The one private key the URI names. Throws CryptoError naming it when there is none or more.
  CK_OBJECT_HANDLE private_key(const Pkcs11Uri& uri) const {
    const auto keys = find(uri, CKO_PRIVATE_KEY);
    if (keys.empty()) {
      throw CryptoError("PKCS#11 token '" + uri.token + "' holds no private key " +
                        (uri.object ? "labelled '" + *uri.object + "'" : "with that id"));
    }
    if (keys.size() > 1) {
      throw CryptoError(uri.describe() + " is ambiguous: the token holds " +
                        std::to_string(keys.size()) + " private keys that match; add an id=");
    }
    return keys.front();
  }

  CK_SESSION_HANDLE handle() const { return h_; }

 private:
  const Module& module_;
  CK_SESSION_HANDLE h_ = CK_INVALID_HANDLE;
};

// ---------------------------------------------------------------------------------------------
// The pkcs11 engine: one per process (its MODULE_PATH is fixed once it is initialised).

struct EngineState {
  std::mutex mutex;
  ENGINE* engine = nullptr;  // a structural and a functional reference, both released at exit
  fs::path module;

  // OpenSSL's own exit handler must run after this destructor (it tears down the engine list's
  // lock), so it is registered first: handlers run in reverse order.
  EngineState() { OPENSSL_init_crypto(OPENSSL_INIT_ENGINE_DYNAMIC, nullptr); }
  EngineState(const EngineState&) = delete;
  EngineState& operator=(const EngineState&) = delete;
  ~EngineState() {
    if (engine != nullptr) {
      ENGINE_finish(engine);
      ENGINE_free(engine);
    }
  }
};

EngineState& engine_state() {
  static EngineState state;
  return state;
}

// The initialised engine for `module`; the caller holds state.mutex.
ENGINE* engine_for(EngineState& state, const fs::path& module) {
  if (state.engine != nullptr) {
    if (state.module != module) {
      throw CryptoError("this process already uses the PKCS#11 module " + state.module.string() +
                        "; it cannot also use " + module.string());
    }
    return state.engine;
  }
  ENGINE* engine = ENGINE_by_id("pkcs11");
  if (engine == nullptr) {
    clear_openssl_errors();
    throw CryptoError(
        "OpenSSL's pkcs11 engine is not installed (Debian package libengine-pkcs11-openssl)");
  }
  if (ENGINE_ctrl_cmd_string(engine, "MODULE_PATH", module.c_str(), 0) != 1 ||
      ENGINE_init(engine) != 1) {
    ENGINE_free(engine);
    throw_openssl_error("the pkcs11 engine cannot use the module " + module.string());
  }
  state.engine = engine;
  state.module = module;
  return engine;
}

void check_signing_key_type(KeyType type) {
  if (type == KeyType::ed25519) {
    throw CryptoError(
        "a PKCS#11 CA key must be EC or RSA: the pkcs11 engine cannot sign with "
        "Ed25519");
  }
}

CK_BBOOL bool_attribute(const Module& module, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key,
                        CK_ATTRIBUTE_TYPE type, CK_BBOOL fallback) {
  CK_BBOOL value = fallback;
  CK_ATTRIBUTE attribute{type, &value, sizeof(value)};
  if (module->C_GetAttributeValue(session, key, &attribute, 1) != CKR_OK) {
    return fallback;
  }
  return value;
}

}  // namespace

bool Pkcs11Uri::looks_like(std::string_view text) {
  return text.starts_with("pkcs11:");
}

Pkcs11Uri Pkcs11Uri::parse(std::string_view text) {
  if (!looks_like(text)) {
    throw std::invalid_argument("a PKCS#11 URI starts with 'pkcs11:'");
  }
  std::string_view rest = text.substr(7);
  if (const auto query = rest.find('?'); query != std::string_view::npos) {
    const auto attribute = rest.substr(query + 1, rest.find('=', query) - query - 1);
    if (attribute == "pin-value" || attribute == "pin-source") {
      throw std::invalid_argument("the PKCS#11 URI carries a PIN (" + std::string(attribute) +
                                  "); give it with ca.pin_file or EST_PKCS11_PIN instead");
    }
    throw std::invalid_argument("the PKCS#11 URI's query attribute '" + std::string(attribute) +
                                "' is not supported (the module is set by ca.pkcs11_module)");
  }
  Pkcs11Uri uri;
  bool has_token = false;
  while (!rest.empty()) {
    const auto end = rest.find(';');
    const auto part = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    const auto equals = part.find('=');
    if (equals == std::string_view::npos) {
      throw std::invalid_argument("the PKCS#11 URI's attribute '" + std::string(part) +
                                  "' has no '='");
    }
    const auto name = part.substr(0, equals);
    const auto value = pct_decode(part.substr(equals + 1), name);
    if (name == "token") {
      uri.token = value;
      has_token = true;
    } else if (name == "object") {
      uri.object = value;
    } else if (name == "id") {
      uri.id = value;
    } else if (name == "type") {
      if (value != "private") {
        throw std::invalid_argument("the PKCS#11 URI's type is '" + value +
                                    "', but a signing key is type=private");
      }
    } else {
      throw std::invalid_argument("the PKCS#11 URI's attribute '" + std::string(name) +
                                  "' is not supported (use token, object, id and type)");
    }
  }
  if (!has_token || uri.token.empty()) {
    throw std::invalid_argument("the PKCS#11 URI names no token (token=LABEL)");
  }
  if ((!uri.object || uri.object->empty()) && (!uri.id || uri.id->empty())) {
    throw std::invalid_argument("the PKCS#11 URI names no key (object=LABEL or id=%xx...)");
  }
  return uri;
}

std::string Pkcs11Uri::to_string() const {
  std::string text = "pkcs11:token=" + pct_encode(token);
  if (object) {
    text += ";object=" + pct_encode(*object);
  }
  if (id) {
    text += ";id=";
    const std::string hex = id_hex(*id);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      text += "%" + hex.substr(i, 2);
    }
  }
  text += ";type=private";
  return text;
}

std::string Pkcs11Uri::describe() const {
  const std::string key = object ? "object '" + *object + "'" : "id " + id_hex(id.value_or(""));
  return key + " in PKCS#11 token '" + token + "'";
}

PrivateKey load_pkcs11_private_key(const Pkcs11Uri& uri, const Pkcs11Access& access) {
  auto& state = engine_state();
  const std::lock_guard lock(state.mutex);
  {
    // Check the token, the PIN and the key directly first, so each failure gets its own sentence
    // (the engine reports them all as "cannot load"). Once the engine holds the module this
    // neither finalises it nor logs the token out (see Module and Session).
    const Module module(access.module);
    const Session session(module, uri, access.pin);
    session.private_key(uri);
  }
  ENGINE* engine = engine_for(state, access.module);
  // The engine keeps the PIN to log in again if the token asks; set per key, as tokens differ.
  std::string pin = access.pin;
  const int pin_set = ENGINE_ctrl_cmd_string(engine, "PIN", pin.c_str(), 0);
  OPENSSL_cleanse(pin.data(), pin.size());
  if (pin_set != 1) {
    throw_openssl_error("the pkcs11 engine refused the PIN for PKCS#11 token '" + uri.token + "'");
  }
  EVP_PKEY* key = ENGINE_load_private_key(engine, uri.to_string().c_str(), nullptr, nullptr);
  if (key == nullptr) {
    throw_openssl_error("cannot load " + uri.describe() + " (wrong PIN, or no such private key)");
  }
  return PrivateKey(PkeyPtr(key));
}

Pkcs11Uri generate_pkcs11_key(const Pkcs11Uri& uri, const Pkcs11Access& access, KeyType type) {
  check_signing_key_type(type);
  auto& state = engine_state();
  const std::lock_guard lock(state.mutex);
  const Module module(access.module);
  const Session session(module, uri, access.pin);
  if (!session.find(uri, CKO_PRIVATE_KEY).empty()) {
    throw CryptoError("PKCS#11 token '" + uri.token + "' already holds a private key " +
                      (uri.object ? "labelled '" + *uri.object + "'" : "with that id") +
                      "; name another object or delete that one first");
  }
  Pkcs11Uri created = uri;
  if (!created.id) {
    std::string id(16, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(id.data()), static_cast<int>(id.size())) != 1) {
      throw_openssl_error("cannot draw a random CKA_ID");
    }
    created.id = id;
  }
  std::string label = created.object.value_or("");
  std::string id = *created.id;
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  // DER OIDs of the named curves (CKA_EC_PARAMS), and RSA's public exponent 65537.
  static constexpr std::array<unsigned char, 10> kP256{0x06, 0x08, 0x2a, 0x86, 0x48,
                                                       0xce, 0x3d, 0x03, 0x01, 0x07};
  static constexpr std::array<unsigned char, 7> kP384{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
  std::array<unsigned char, 10> curve{};
  std::array<unsigned char, 3> exponent{0x01, 0x00, 0x01};
  CK_ULONG modulus_bits = 0;
  CK_MECHANISM mechanism{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  std::vector<CK_ATTRIBUTE> public_template{
      {CKA_TOKEN, &yes, sizeof(yes)},  {CKA_PRIVATE, &no, sizeof(no)},
      {CKA_VERIFY, &yes, sizeof(yes)}, {CKA_ENCRYPT, &no, sizeof(no)},
      {CKA_WRAP, &no, sizeof(no)},     {CKA_ID, id.data(), id.size()}};
  std::vector<CK_ATTRIBUTE> private_template{
      {CKA_TOKEN, &yes, sizeof(yes)},     {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)}, {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_SIGN, &yes, sizeof(yes)},      {CKA_DECRYPT, &no, sizeof(no)},
      {CKA_UNWRAP, &no, sizeof(no)},      {CKA_DERIVE, &no, sizeof(no)},
      {CKA_ID, id.data(), id.size()}};
  if (created.object) {
    public_template.push_back({CKA_LABEL, label.data(), label.size()});
    private_template.push_back({CKA_LABEL, label.data(), label.size()});
  }
  switch (type) {
    case KeyType::ec_p256:
      std::copy(kP256.begin(), kP256.end(), curve.begin());
      public_template.push_back({CKA_EC_PARAMS, curve.data(), kP256.size()});
      break;
    case KeyType::ec_p384:
      std::copy(kP384.begin(), kP384.end(), curve.begin());
      public_template.push_back({CKA_EC_PARAMS, curve.data(), kP384.size()});
      break;
    case KeyType::rsa_2048:
    case KeyType::rsa_3072:
    case KeyType::rsa_4096:
      mechanism.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
      modulus_bits = type == KeyType::rsa_2048 ? 2048 : type == KeyType::rsa_3072 ? 3072 : 4096;
      public_template.push_back({CKA_MODULUS_BITS, &modulus_bits, sizeof(modulus_bits)});
      public_template.push_back({CKA_PUBLIC_EXPONENT, exponent.data(), exponent.size()});
      break;
    case KeyType::ed25519:
      break;  // refused above
  }
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  const CK_RV rv = module->C_GenerateKeyPair(session.handle(), &mechanism, public_template.data(),
                                             public_template.size(), private_template.data(),
                                             private_template.size(), &public_key, &private_key);
  if (rv != CKR_OK) {
    throw CryptoError("PKCS#11 token '" + uri.token + "' cannot generate a " +
                      std::string(key_type_name(type)) + " key pair (" + rv_text(rv) + ")");
  }
  return created;
}

bool is_token_key(const EVP_PKEY* key) {
  // Keys OpenSSL 3 made (files, generation) live in a provider. The engine's keys are legacy
  // keys whose EC_KEY or RSA signs through libp11's method instead of OpenSSL's own.
  if (key == nullptr || EVP_PKEY_get0_provider(key) != nullptr) {
    return false;
  }
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
      const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
      return ec != nullptr && EC_KEY_get_method(ec) != EC_KEY_OpenSSL();
    }
    case EVP_PKEY_RSA: {
      const RSA* rsa = EVP_PKEY_get0_RSA(key);
      return rsa != nullptr && RSA_get_method(rsa) != RSA_PKCS1_OpenSSL();
    }
    default:
      return false;
  }
}

Pkcs11KeyProtection inspect_pkcs11_key(const Pkcs11Uri& uri, const Pkcs11Access& access) {
  auto& state = engine_state();
  const std::lock_guard lock(state.mutex);
  const Module module(access.module);
  const Session session(module, uri, access.pin);
  const CK_OBJECT_HANDLE key = session.private_key(uri);
  const auto h = session.handle();
  Pkcs11KeyProtection protection;
  protection.sensitive = bool_attribute(module, h, key, CKA_SENSITIVE, CK_FALSE) == CK_TRUE;
  protection.extractable = bool_attribute(module, h, key, CKA_EXTRACTABLE, CK_TRUE) == CK_TRUE;
  protection.always_sensitive =
      bool_attribute(module, h, key, CKA_ALWAYS_SENSITIVE, CK_FALSE) == CK_TRUE;
  protection.never_extractable =
      bool_attribute(module, h, key, CKA_NEVER_EXTRACTABLE, CK_FALSE) == CK_TRUE;
  // Ask for the secret itself: an EC key's CKA_VALUE, an RSA key's private exponent. A token
  // that protects the key answers CKR_ATTRIBUTE_SENSITIVE (length CK_UNAVAILABLE_INFORMATION).
  CK_KEY_TYPE key_type = CKK_EC;
  CK_ATTRIBUTE type_attribute{CKA_KEY_TYPE, &key_type, sizeof(key_type)};
  module->C_GetAttributeValue(h, key, &type_attribute, 1);
  CK_ATTRIBUTE secret{key_type == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE, nullptr, 0};
  const CK_RV rv = module->C_GetAttributeValue(h, key, &secret, 1);
  protection.value_readable =
      rv == CKR_OK && secret.ulValueLen != CK_UNAVAILABLE_INFORMATION && secret.ulValueLen > 0;
  return protection;
}

}  // namespace estfleet::crypto
