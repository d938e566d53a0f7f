// The data path's parsers and buffer layouts as the driver calls them: the data path's own
// functions (wire.h, admission.h, slots.h), through pointers only so that the self-test
// (broken.cc) can swap in a deliberately broken one and show the harness catches it.
#pragma once

#include <string>

#include "../src/datapath/admission.h"
#include "../src/datapath/slots.h"
#include "../src/datapath/wire.h"

namespace overlay::fuzz {

struct Parsers {
  admission::Kind (*classify)(const uint8_t*, size_t, bool) = admission::Classify;
  bool (*sealed_mac1_ok)(const uint8_t*, const uint8_t*, size_t) = admission::SealedMac1Ok;
  bool (*parse_envelope)(const uint8_t*, size_t, wire::EnvelopeHeader*) = wire::ParseEnvelope;
  bool (*parse_transport)(const uint8_t*, size_t, wire::TransportHeader*) = wire::ParseTransport;
  bool (*parse_inner)(const uint8_t*, size_t, wire::InnerPacket*) = wire::ParseInner;
  bool (*decrement_hop)(uint8_t*, const wire::InnerPacket&) = wire::DecrementHopLimit;
  wire::ReceiveSlot (*receive_slot)(size_t mtu) = wire::ReceiveSlotFor;
  wire::SendSlot (*send_slot)(size_t mtu) = wire::SendSlotFor;
};

// Self-test only: replaces one parser with a broken twin (broken.cc). False for an unknown name.
bool InjectBroken(const std::string& name, Parsers* parsers);
// The names InjectBroken knows, comma-separated, for --help.
const char* BrokenNames();

}  // namespace overlay::fuzz
