// GetRandomPassword's generator: character classes (lower, upper, digits, punctuation, optional
// space) minus excluded characters, at least one of each included class when required, drawn
// uniformly from an IdSource (the OS CSPRNG in the server). Pure; thread-safe if ids is.
#pragma once

#include <string>

#include "core/aws/document.h"
#include "core/common/ids.h"
#include "core/common/status.h"

namespace gantry::services::secretsmanager {

// The punctuation Secrets Manager draws from by default.
inline constexpr std::string_view kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

// A password for a GetRandomPassword input; InvalidParameterException when the options leave no
// characters or fewer characters than required classes.
StatusOr<std::string> RandomPassword(const aws::Document& input, IdSource& ids);

}  // namespace gantry::services::secretsmanager
