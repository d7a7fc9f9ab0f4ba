#pragma once

// Helpers shared by the sealed-bid commands (cmd_sealed.cpp) and `tender escrow share|combine
// --sealed` (cmd_escrow.cpp): reading a sealed file's header cheaply, the context that binds an
// escrow decryption share to one sealed file, and output files that appear only when complete.

#include "command.hpp"

#include <tender/crypto/bytes.hpp>
#include <tender/crypto/sealed_bid.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace tender::cli {

// Opens a file for binary reading; codes::io when it cannot be opened.
std::ifstream open_input(const std::filesystem::path& path);

// The header of a sealed bid file, parsed strictly, without reading the rest of the file. When
// the file is not a well-formed sealed file the library's own code is thrown (sealed.bad_magic,
// sealed.truncated, sealed.malformed_header, ...), the message prefixed with the path.
crypto::sealed::header read_sealed_header(const std::filesystem::path& path);

// The context bound into every escrow decryption share made for a sealed file: the ASCII bytes of
// the lower-case hex H(header) (the suite hash; the trailer's header_digest, which `tender inspect`
// prints). The sealed format defines no context of its own; the header digest names exactly one
// sealed file (tender id, bidder id, recipients and the escrow point R), so a share made for one
// bid file cannot be presented for another, even one sealed with the same R by a faulty sealer.
crypto::bytes sealed_escrow_context(const crypto::sealed::header& h);

// An output file that is written under a temporary name in the destination's directory and
// renamed to its final name only by commit(): a failed or interrupted run leaves no partial file
// behind (the temporary file is removed by the destructor). Without `overwrite` an existing
// destination is refused before anything is written and again at commit (no replace race).
class pending_output {
public:
  pending_output(std::filesystem::path destination, bool overwrite, bool owner_only);
  pending_output(const pending_output&) = delete;
  pending_output& operator=(const pending_output&) = delete;
  ~pending_output();

  std::ostream& stream() { return out_; }
  const std::filesystem::path& destination() const { return destination_; }
  // Flushes, syncs and renames into place. Throws codes::io / codes::file_exists.
  void commit();

private:
  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  bool overwrite_;
  bool committed_ = false;
  std::ofstream out_;
};

}  // namespace tender::cli
