// This machine's name on the network, as the original forest names nodes
// and clients by default.
#pragma once

#include <string>

namespace forest {

// The first non-loopback IPv4 address of an interface that is up; else the
// host name; else "127.0.0.1".
std::string MachineAddress();

}  // namespace forest
