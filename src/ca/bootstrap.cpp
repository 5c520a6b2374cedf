#include "ca/bootstrap.hpp"

#include "ca/serial.hpp"

namespace estfleet::ca {

NewCa create_ca(const NewCaOptions& options, crypto::TimePoint now) {
  return create_ca(options, now, crypto::PrivateKey::generate(options.issuing_key_type));
}

NewCa create_ca(const NewCaOptions& options, crypto::TimePoint now,
                crypto::PrivateKey issuing_key) {
  auto root_key = crypto::PrivateKey::generate(options.root_key_type);
  crypto::CertificateSpec root_spec;
  root_spec.serial = random_serial();
  root_spec.subject_der =
      crypto::name_der({{"O", options.organization}, {"CN", options.root_common_name}});
  root_spec.public_key = root_key.get();
  root_spec.not_before = now - std::chrono::hours(1);
  root_spec.not_after = now + options.root_validity;
  root_spec.is_ca = true;
  root_spec.key_usage = {"keyCertSign", "cRLSign"};
  auto root = crypto::sign_certificate(root_spec, nullptr, root_key.get());

  crypto::CertificateSpec issuing_spec;
  issuing_spec.serial = random_serial();
  issuing_spec.subject_der =
      crypto::name_der({{"O", options.organization}, {"CN", options.issuing_common_name}});
  issuing_spec.public_key = issuing_key.get();
  issuing_spec.not_before = now - std::chrono::hours(1);
  issuing_spec.not_after = std::min(now + options.issuing_validity, root.not_after());
  issuing_spec.is_ca = true;
  issuing_spec.path_length = 0;
  issuing_spec.key_usage = {"digitalSignature", "keyCertSign", "cRLSign"};
  auto issuing = crypto::sign_certificate(issuing_spec, &root, root_key.get());

  return NewCa{std::move(root_key), std::move(root), std::move(issuing_key), std::move(issuing)};
}

}  // namespace estfleet::ca
