// datapath-fuzz: the native data path's parsers under AddressSanitizer and UBSan, against
// generated and mutated inputs (issue 10, "the habits of a trusted system").
//
//   datapath-fuzz [--seed N] [--inputs N] [--seconds S] [--json] [--inject NAME]
//
// Each input is a datagram from the network, taken through the receive thread's steps
// (receive.h), or an IP packet from the TUN, taken through the send thread's (send.h): new from
// the structured generator or a mutation of an earlier one, in a world of sessions, relay keys,
// routes, members' keys and endpoints, admission budgets and a handshake screen (world.h) made
// afresh every kWorldInputs inputs, its clock moving per input. The run is deterministic given --seed: input
// #i is the same every time, so a failure names the seed and the index to replay it. It stops
// after --inputs (default 1,000,000, or unbounded with --seconds) or --seconds, whichever comes
// first, and prints what each parser saw.
//
// Exit codes: 0 clean; 1 a sanitizer report (AddressSanitizer or UBSan, never recovered);
// 3 a broken invariant (invariants.h); 2 bad arguments.
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "counts.h"
#include "generate.h"
#include "invariants.h"
#include "offload.h"
#include "parsers.h"
#include "receive.h"
#include "send.h"
#include "world.h"

// Leak checking needs ptrace, which containers often forbid, and has nothing to find: the parsers
// allocate nothing. A small quarantine of freed blocks and short allocation stacks keep the
// driver's own vectors cheap (a third of the default's speed otherwise); they matter only for
// use-after-free reports, and the data path frees nothing while it parses.
extern "C" const char* __asan_default_options() { return "detect_leaks=0:quarantine_size_mb=4:malloc_context_size=4"; }
// A UBSan report shows where it happened.
extern "C" const char* __ubsan_default_options() { return "print_stacktrace=1"; }

namespace overlay::fuzz {

namespace {

constexpr uint64_t kWorldInputs = 10000;

struct Options {
  uint64_t seed = 0;
  bool seed_given = false;
  uint64_t inputs = 0;
  bool inputs_given = false;
  double seconds = 0;
  bool json = false;
  std::string inject;
};

[[noreturn]] void Usage(const char* problem, int code = 2) {
  std::fprintf(stderr,
               "datapath-fuzz: %s\nusage: datapath-fuzz [--seed N] [--inputs N] [--seconds S] [--json] "
               "[--inject NAME]\n  --inject (self-test) one of: %s\n",
               problem, BrokenNames());
  std::exit(code);
}

uint64_t Number(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text ? text : "", &end, 10);
  if (!text || *text == '\0' || *end != '\0' || errno != 0 || *text == '-')
    Usage((std::string(flag) + " needs a whole number").c_str());
  return v;
}

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--seed") {
      o.seed = Number("--seed", value);
      o.seed_given = true;
      i++;
    } else if (arg == "--inputs") {
      o.inputs = Number("--inputs", value);
      o.inputs_given = true;
      i++;
    } else if (arg == "--seconds") {
      o.seconds = static_cast<double>(Number("--seconds", value));
      i++;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--inject") {
      if (!value) Usage("--inject needs a name");
      o.inject = value;
      i++;
    } else if (arg == "--help" || arg == "-h") {
      Usage("the native data path's parsers against generated and mutated inputs", 0);
    } else {
      Usage(("unknown argument " + arg).c_str());
    }
  }
  if (!o.inputs_given) o.inputs = o.seconds > 0 ? UINT64_MAX : 1'000'000;
  if (!o.seed_given) o.seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  return o;
}

struct Run {
  uint64_t inputs = 0;
  uint64_t worlds = 0;
  double seconds = 0;
  uint64_t shapes[kShapes] = {};
  Counts counts;
};

void Print(const Options& o, const Run& run) {
  double rate = run.seconds > 0 ? static_cast<double>(run.inputs) / run.seconds : 0;
  if (o.json) {
    std::printf("{\"seed\":%" PRIu64 ",\"inputs\":%" PRIu64 ",\"seconds\":%.3f,\"inputsPerSecond\":%.0f,\"worlds\":%" PRIu64
                ",\"shapes\":{",
                o.seed, run.inputs, run.seconds, rate, run.worlds);
    for (size_t s = 0; s < kShapes; s++)
      std::printf("%s\"%s\":%" PRIu64, s ? "," : "", ShapeName(static_cast<Shape>(s)), run.shapes[s]);
    std::printf("},\"counts\":{");
    const char* sep = "";
#define OVERLAY_FUZZ_JSON(name, group, what) \
  std::printf("%s\"%s\":%" PRIu64, sep, #name, run.counts.name);  \
  sep = ",";
    OVERLAY_FUZZ_COUNTS(OVERLAY_FUZZ_JSON)
#undef OVERLAY_FUZZ_JSON
    std::printf("}}\n");
    return;
  }
  std::printf("datapath-fuzz: seed %" PRIu64 ": %" PRIu64 " inputs in %.1f s, %.0f inputs/s, %" PRIu64
              " worlds, under AddressSanitizer and UBSan\n",
              o.seed, run.inputs, run.seconds, rate, run.worlds);
  std::printf("inputs:");
  for (size_t s = 0; s < kShapes; s++)
    std::printf(" %s %" PRIu64, ShapeName(static_cast<Shape>(s)), run.shapes[s]);
  std::printf("\n");
#define OVERLAY_FUZZ_LINE(name, group, what) \
  std::printf("  %-9s %12" PRIu64 "  %s\n", group, run.counts.name, what);
  OVERLAY_FUZZ_COUNTS(OVERLAY_FUZZ_LINE)
#undef OVERLAY_FUZZ_LINE
}

int Main(int argc, char** argv) {
  Options o = ParseOptions(argc, argv);
  Parsers parsers;
  if (!o.inject.empty()) {
    if (!InjectBroken(o.inject, &parsers)) Usage(("unknown --inject " + o.inject).c_str());
    std::fprintf(stderr, "datapath-fuzz: self-test with a broken %s: this run must fail\n", o.inject.c_str());
  }
  InstallDeathReport();
  g_current.seed = o.seed;
  SeedRandBytes(o.seed);

  Rng rng(o.seed);
  Corpus corpus;
  Generator generator(rng, corpus);
  Run run;
  std::unique_ptr<World> world;
  std::unique_ptr<Receiver> receiver;
  std::unique_ptr<Sender> sender;
  Bytes input;
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  for (uint64_t i = 0; i < o.inputs; i++) {
    if (i % kWorldInputs == 0) {
      receiver.reset();
      sender.reset();
      world = std::make_unique<World>(rng, parsers);
      receiver = std::make_unique<Receiver>(*world, parsers, run.counts);
      sender = std::make_unique<Sender>(*world, parsers, run.counts);
      run.worlds++;
    }
    world->Tick(rng);
    Shape shape;
    if (corpus.Empty() || rng.Below(100) < 55) {
      shape = generator.Next(*world, &input);
      if (rng.OneIn(4)) corpus.AddDatagram(input);
    } else {
      input = corpus.Datagram(rng);
      Mutate(rng, corpus, &input);
      shape = Shape::kMutated;
      if (rng.OneIn(16)) corpus.AddDatagram(input);
    }
    run.shapes[static_cast<size_t>(shape)]++;
    g_current.index = i;
    g_current.shape = ShapeName(shape);
    g_current.data = input.data();
    g_current.len = input.size();
    if (shape == Shape::kTunPacket) {
      sender->Packet(input.data(), input.size());
      // Its own stream, from the seed and the index: the other stages see the inputs they saw
      // before the offloads were fuzzed, and a failure still replays from (seed, index).
      Rng offload_rng(o.seed ^ (i + 1) * 0xd1b54a32d192ed03ull);
      FuzzOffloads(offload_rng, run.counts, input.data(), input.size(), world->mtu);
    } else {
      receiver->Datagram(input.data(), input.size());
    }
    run.inputs = i + 1;
    if (o.seconds > 0 && i % 1024 == 1023 && elapsed() >= o.seconds) break;
  }
  run.seconds = elapsed();
  Print(o, run);
  return 0;
}

}  // namespace

}  // namespace overlay::fuzz

int main(int argc, char** argv) { return overlay::fuzz::Main(argc, argv); }
