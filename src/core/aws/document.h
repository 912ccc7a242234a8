// Document: the protocol-neutral form of an operation's input and output. Codecs turn wire bytes
// into a Document shaped by the model (structures → objects keyed by member name, lists → arrays,
// maps → objects, timestamps → epoch seconds as numbers, blobs → nlohmann binary) and back.
// Handlers only ever see and build Documents.
#pragma once

#include <nlohmann/json.hpp>

namespace gantry::aws {

using Document = nlohmann::json;

}  // namespace gantry::aws
