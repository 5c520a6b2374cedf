#include "ca/authority.hpp"

#include <stdexcept>

#include "ca/rollover.hpp"
#include "ca/serial.hpp"
#include "common/files.hpp"
#include "crypto/error.hpp"
#include "policy/thing_name.hpp"

namespace estfleet::ca {
namespace {

bool is_ip_literal(const std::string& host) {
  // A colon means IPv6; digits and dots only means IPv4. Host names contain a letter.
  return host.find(':') != std::string::npos ||
         host.find_first_not_of("0123456789.") == std::string::npos;
}

const std::vector<crypto::Certificate>& non_empty(const std::vector<crypto::Certificate>& chain) {
  if (chain.empty()) {
    throw std::invalid_argument("the CA chain is empty");
  }
  return chain;
}

}  // namespace

Authority::Authority(crypto::PrivateKey issuing_key, std::vector<crypto::Certificate> chain)
    : key_(std::move(issuing_key)), chain_(std::move(chain)), trust_({non_empty(chain_).back()}) {
  if (!chain_.front().matches_private_key(key_.get())) {
    throw std::invalid_argument(
        "the issuing CA key does not match the first certificate of the chain");
  }
  if (!chain_.front().is_ca()) {
    throw std::invalid_argument("the issuing certificate is not a CA certificate");
  }
}

Authority Authority::load(const std::filesystem::path& key_file,
                          const std::filesystem::path& chain_file) {
  try {
    auto key = crypto::PrivateKey::from_pem(common::read_file(key_file));
    auto chain = crypto::Certificate::chain_from_pem(common::read_file(chain_file));
    return Authority(std::move(key), std::move(chain));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot load the CA from " + key_file.string() + " and " +
                             chain_file.string() + ": " + e.what());
  }
}

crypto::Certificate Authority::issue(const IssueRequest& request,
                                     const IssuancePolicy& policy) const {
  if (!policy::is_valid_thing_name(request.thing_name)) {
    throw std::invalid_argument("ThingName '" + request.thing_name +
                                "' does not match [A-Za-z0-9:_-]{1,128}");
  }
  crypto::CertificateSpec spec;
  spec.serial = random_serial();
  spec.subject_der = crypto::name_der({{"CN", request.thing_name}});
  spec.public_key = request.public_key;
  spec.public_key_info = request.public_key_info;
  spec.not_before = request.now - policy.backdate;
  // A certificate never outlives the CA that vouches for it.
  spec.not_after = std::min(request.now + policy.validity, issuing_certificate().not_after());
  spec.key_usage = {"digitalSignature"};
  spec.extended_key_usage = {"clientAuth"};
  spec.subject_alt_name_der = request.subject_alt_name_der;
  spec.extra_extensions = request.extra_extensions;
  if (policy.crl_distribution_point) {
    spec.crl_distribution_points.push_back(*policy.crl_distribution_point);
  }
  if (policy.ocsp_url) {
    spec.ocsp_urls.push_back(*policy.ocsp_url);
  }
  return crypto::sign_certificate(spec, &issuing_certificate(), key_.get(), extensions_.get());
}

crypto::Certificate Authority::issue_tls_server(const EVP_PKEY* public_key,
                                                const std::vector<std::string>& hostnames,
                                                crypto::TimePoint now,
                                                std::chrono::seconds validity,
                                                TlsServerRole role) const {
  crypto::CertificateSpec spec;
  spec.serial = random_serial();
  const std::string cn = hostnames.empty() ? std::string("localhost") : hostnames.front();
  spec.subject_der = crypto::name_der({{"O", "est-fleet"}, {"CN", cn}});
  spec.public_key = public_key;
  spec.not_before = now - std::chrono::minutes(5);
  spec.not_after = std::min(now + validity, issuing_certificate().not_after());
  spec.key_usage = {"digitalSignature"};
  spec.extended_key_usage = {"serverAuth"};
  if (role == TlsServerRole::est_server) {
    spec.extended_key_usage.emplace_back(crypto::kIdKpCmcRa);
  }
  for (const auto& host : hostnames) {
    spec.subject_alt_names.push_back((is_ip_literal(host) ? "IP:" : "DNS:") + host);
  }
  return crypto::sign_certificate(spec, &issuing_certificate(), key_.get(), extensions_.get());
}

crypto::Certificate Authority::reissue_tls_server(const crypto::Certificate& previous,
                                                  const EVP_PKEY* public_key, crypto::TimePoint now,
                                                  std::chrono::seconds validity) const {
  crypto::CertificateSpec spec;
  spec.serial = random_serial();
  spec.subject_der = previous.subject_der();
  spec.public_key = public_key;
  spec.not_before = now - std::chrono::minutes(5);
  spec.not_after = std::min(now + validity, issuing_certificate().not_after());
  spec.key_usage = {"digitalSignature"};
  spec.extended_key_usage = {"serverAuth", std::string(crypto::kIdKpCmcRa)};
  spec.subject_alt_name_der = previous.subject_alt_name_der();
  return crypto::sign_certificate(spec, &issuing_certificate(), key_.get(), extensions_.get());
}

std::optional<std::string> Authority::verify_issued(const crypto::Certificate& cert,
                                                    crypto::TimePoint at) const {
  if (cert.issuer_der() != issuing_certificate().subject_der()) {
    if (previous_ &&
        cert.issuer_der() == previous_->authority->issuing_certificate().subject_der()) {
      return previous_->authority->verify_issued(cert, at);
    }
    return std::string("the certificate was not issued by this CA");
  }
  std::vector<crypto::Certificate> intermediates(chain_.begin(), chain_.end() - 1);
  return trust_.verify(cert, intermediates, at);
}

void Authority::set_previous(PreviousCa previous) {
  if (!previous.authority) {
    throw std::invalid_argument("the previous CA is missing");
  }
  const auto& old_root = previous.authority->root();
  if (old_root.subject_der() == root().subject_der()) {
    throw std::invalid_argument("the previous root has the same name as the current one");
  }
  const auto at = previous.new_with_old.not_before();
  if (const auto problem = verify_link(previous.new_with_old, root(), old_root, at)) {
    throw std::invalid_argument("NewWithOld: " + *problem);
  }
  if (const auto problem = verify_link(previous.old_with_new, old_root, root(), at)) {
    throw std::invalid_argument("OldWithNew: " + *problem);
  }
  previous_ = std::move(previous);
}

bool Authority::in_transition(crypto::TimePoint at) const {
  return previous_ && at < previous_->authority->issuing_certificate().not_after();
}

std::vector<crypto::Certificate> Authority::chain_with_links() const {
  if (!previous_) {
    return chain_;
  }
  // The links come before the two self-signed roots: OpenSSL takes the first candidate issuer
  // among untrusted certificates, so a relying party holding only the old root must meet
  // NewWithOld before the (to it untrusted) new root, and one holding only the new root must
  // meet OldWithNew before the old root. The current root stays last.
  std::vector<crypto::Certificate> certs(chain_.begin(), chain_.end() - 1);
  certs.push_back(previous_->old_with_new);
  certs.push_back(previous_->new_with_old);
  certs.push_back(previous_->authority->root());  // OldWithOld
  certs.push_back(root());                        // NewWithNew
  return certs;
}

std::vector<crypto::Certificate> Authority::cacerts(crypto::TimePoint at) const {
  return in_transition(at) ? chain_with_links() : chain_;
}

const Authority* Authority::issuer_of(const crypto::Certificate& cert, crypto::TimePoint at) const {
  const auto issuer = cert.issuer_der();
  if (issuer == issuing_certificate().subject_der()) {
    return this;
  }
  if (in_transition(at) && issuer == previous_->authority->issuing_certificate().subject_der()) {
    return previous_->authority.get();
  }
  return nullptr;
}

}  // namespace estfleet::ca
