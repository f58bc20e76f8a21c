import ArgumentParser
import Foundation
import LocalBroker
import LocalCluster
import Logging
import MQTTBus

/// `s2m3 bench bus`: MQTTBus against mosquitto_pub/mosquitto_sub over loopback, in one run,
/// against one broker from broker-config/dev.conf. Writes the "MQTT bus" section of
/// docs/benchmarks.md; with `--tls`, TLS vs plain instead (``BusTLSBenchmark``), the
/// "MQTT bus: TLS vs plain" section.
struct BenchBusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bus",
        abstract: "Publish→subscribe latency and throughput: S2M3 MQTTBus vs mosquitto_pub/sub."
    )

    @Flag(help: "A tenth of the samples (a quick check, not for the record).")
    var quick = false

    @Option(help: "Markdown file whose 'MQTT bus' section is replaced (default: docs/benchmarks.md).")
    var output: String?

    @Flag(help: "Print the table only.")
    var noWrite = false

    @Option(help: "Throughput rounds per case (medians are reported).")
    var repetitions = 3

    @Option(help: "The command line recorded in the document.")
    var recordedCommand = "scripts/bench-bus.sh"

    @Option(name: .customLong("payload"), help: "Only this payload size: 1KB, 100KB or 1MB (repeatable; default: all three).")
    var payloads: [String] = []

    @Flag(help: "Measure the cost of TLS instead: MQTTBus over a plain and a TLS listener of one broker (broker-config/bench-tls.conf).")
    var tls = false

    func run() async throws {
        let tools = (pub: try Self.which("mosquitto_pub"), sub: try Self.which("mosquitto_sub"))
        let template = try BrokerConfigLocator.find("dev.conf")
        var logger = Logger(label: "s2m3.bench")
        logger.logLevel = .warning
        let scale = quick ? 10 : 1
        let all: [BusBenchmark.Case] = [(1 << 10, 2000, 20000), (100 << 10, 500, 2000), (1 << 20, 100, 300)]
            .flatMap { size, latency, throughput in
                [MQTTQoS.atMostOnce, .atLeastOnce].map {
                    BusBenchmark.Case(size: size, qos: $0, latencySamples: latency / scale, throughputMessages: throughput / scale)
                }
            }
        // `--payload` spells a size as the table does, without the space: 1KB, 100KB, 1MB.
        func option(_ c: BusBenchmark.Case) -> String { c.label.replacingOccurrences(of: " ", with: "") }
        let known = all.filter { $0.qos == .atMostOnce }.map(option)
        if let unknown = payloads.first(where: { !known.contains($0) }) {
            throw ValidationError("--payload \(unknown): expected one of \(known.joined(separator: ", "))")
        }
        let cases = all.filter { payloads.isEmpty || payloads.contains(option($0)) }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        if tls {
            let rows = try await BusTLSBenchmark(cases: cases, repetitions: repetitions, logger: logger, tools: tools).run()
            let command = recordedCommand + " --tls" + (quick ? " --quick" : "")
            try write(BusTLSBenchmark.markdown(rows: rows, command: command, load: load, repetitions: repetitions), section: "MQTT bus: TLS vs plain", template: template)
            return
        }

        var rows: [Row] = []
        try await MosquittoProcess.withRunning(MosquittoProcessConfiguration(template: template)) { broker in
            let bench = BusBenchmark(broker: broker, logger: logger, tools: tools)
            let payloadDirectory = broker.workDirectory
            for (index, c) in cases.enumerated() {
                let topic = "bench/\(index)"
                let payloadFile = payloadDirectory + "/payload-\(c.size).bin"
                _ = FileManager.default.createFile(atPath: payloadFile, contents: Data(repeating: 0x5a, count: c.size))
                print("bench bus: \(c.label) QoS \(c.qos.rawValue)…")
                var row = Row(c: c)
                // Latency: the samples split over `repetitions` rounds, S2M3 and reference
                // interleaved (a load change hits both), percentiles over all rounds' samples.
                var swiftSamples: [Double] = []
                var referenceSamples: [Double] = []
                let perRound = max(c.latencySamples / repetitions, 1)
                for round in 0..<repetitions {
                    swiftSamples += try await bench.swiftLatency(c, samples: perRound, topic: topic + "/lat\(round)")
                    referenceSamples += try await bench.referenceSubscriberLatency(c, samples: perRound, topic: topic + "/ref-lat\(round)")
                }
                row.swiftLatency = BusBenchmark.percentiles(swiftSamples)
                row.referenceLatency = BusBenchmark.percentiles(referenceSamples)
                // Throughput: `repetitions` rounds, interleaved too; the median round is reported.
                var swift: [BusBenchmark.Throughput] = []
                var serial: [BusBenchmark.Throughput] = []
                var reference: [BusBenchmark.Throughput] = []
                for round in 0..<repetitions {
                    swift.append(try await bench.swiftThroughput(c, topic: topic + "/tp\(round)", window: 20))
                    if c.qos == .atLeastOnce {
                        serial.append(try await bench.swiftThroughput(c, topic: topic + "/tp1-\(round)", window: 1))
                    }
                    reference.append(try await bench.referenceThroughput(c, topic: topic + "/ref-tp\(round)", payloadFile: payloadFile))
                }
                row.swiftThroughput = BusBenchmark.median(swift)
                row.swiftSerialThroughput = BusBenchmark.median(serial)
                row.referenceThroughput = BusBenchmark.median(reference)
                rows.append(row)
                print(row.latencyLine)
                print(row.throughputLine)
            }
        }
        let section = Self.markdown(rows: rows, command: recordedCommand + (quick ? " --quick" : ""), load: load, repetitions: repetitions)
        try write(section, section: "MQTT bus", template: template)
    }

    private func write(_ text: String, section: String, template: String) throws {
        print(text)
        if !noWrite {
            let path = try output ?? Self.defaultOutput(template: template)
            try MarkdownSections.replace(section: section, with: text, in: path)
            print("bench bus: wrote \(path)")
        }
    }

    static func which(_ tool: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw ValidationError("\(tool) not found; run scripts/setup.sh (apt package mosquitto-clients)")
    }

    static func defaultOutput(template: String) throws -> String {
        let root = URL(fileURLWithPath: template).deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("docs/benchmarks.md").path
    }
}

extension BenchBusCommand {
    struct Row {
        var c: BusBenchmark.Case
        var swiftLatency: BusBenchmark.Latency?
        var referenceLatency: BusBenchmark.Latency?
        var swiftThroughput: BusBenchmark.Throughput?
        var swiftSerialThroughput: BusBenchmark.Throughput?
        var referenceThroughput: BusBenchmark.Throughput?

        var latencyLine: String {
            let ratio = (swiftLatency?.p50).flatMap { s in (referenceLatency?.p50).map { String(format: "%.2f×", s / $0) } } ?? "–"
            return "| \(c.label) | \(c.qos.rawValue) | \(us(swiftLatency?.p50)) | \(us(swiftLatency?.p99)) | \(us(referenceLatency?.p50)) | \(us(referenceLatency?.p99)) | \(ratio) | \(swiftLatency?.samples ?? 0) |"
        }

        var throughputLine: String {
            let ratio = (swiftThroughput?.messagesPerSecond).flatMap { s in
                (referenceThroughput?.messagesPerSecond).map { String(format: "%.2f×", s / $0) }
            } ?? "–"
            let serialRatio = (swiftSerialThroughput?.messagesPerSecond).flatMap { s in
                (referenceThroughput?.messagesPerSecond).map { String(format: " (%.2f×)", s / $0) }
            } ?? ""
            let serial = c.qos == .atLeastOnce ? rate(swiftSerialThroughput) + serialRatio : "–"
            return "| \(c.label) | \(c.qos.rawValue) | \(rate(swiftThroughput)) | \(serial) | \(rate(referenceThroughput)) | \(ratio) |"
        }

        private func us(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "–" }
            return value < 1000 ? String(format: "%.0f µs", value) : String(format: "%.2f ms", value / 1000)
        }

        private func rate(_ t: BusBenchmark.Throughput?) -> String {
            guard let t, t.messagesPerSecond.isFinite else { return "–" }
            let megabytes = t.messagesPerSecond * Double(c.size) / 1e6
            let lost = t.received < t.sent ? " (\(t.sent - t.received) of \(t.sent) lost)" : ""
            return String(format: "%.0f msg/s, %.0f MB/s", t.messagesPerSecond, megabytes) + lost
        }
    }

    static func markdown(rows: [Row], command: String, load: String, repetitions: Int) -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        var text = """
        ## MQTT bus

        Made with `\(command)` (release build) on \(date): \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \
        load average \(load) at the start; one Mosquitto 2.0.11 from `broker-config/dev.conf` on loopback, \
        started with `HeapTuning`'s malloc settings as `s2m3` starts its brokers. \
        Everything below ran in that one invocation, against that one broker. Other jobs may share \
        the cores (see the load average), so absolute figures move between runs; compare within a row.

        **Latency**, publish → subscriber, one message at a time, after 10 % warm-up; the samples are \
        split over \(repetitions) rounds, S2M3 and reference interleaved, and the percentiles are over all \
        of them. *S2M3*: MQTTBus \
        publisher → MQTTBus subscriber in one process, from the `publish` call to the consuming task \
        receiving the message. *Reference*: MQTTBus publisher → `mosquitto_sub --nodelay -F %U`, from \
        the realtime clock read before `publish` to mosquitto_sub's own receipt timestamp (so it measures \
        libmosquitto's C client as the subscriber; `mosquitto_pub` cannot report send times).

        | payload | QoS | S2M3 p50 | S2M3 p99 | reference p50 | reference p99 | S2M3 / reference p50 | samples |
        |---|---|---|---|---|---|---|---|

        """
        text += rows.map(\.latencyLine).joined(separator: "\n")
        text += """


        **Throughput**, one publisher → one subscriber, rate between the subscriber's first and last \
        receipt; median of \(repetitions) rounds, S2M3 and reference interleaved. *S2M3*: MQTTBus → MQTTBus; QoS 1 with up to 20 publishes awaiting PUBACK, and with 1. \
        *Reference*: `mosquitto_pub --nodelay --repeat N --repeat-delay 0 -f payload` (it sends the next \
        message when the previous one is written, QoS 0, or acknowledged, QoS 1) → \
        `mosquitto_sub --nodelay -C N -F %U`.

        | payload | QoS | S2M3 | S2M3, 1 in flight | mosquitto_pub → mosquitto_sub | S2M3 / reference |
        |---|---|---|---|---|---|

        """
        text += rows.map(\.throughputLine).joined(separator: "\n")
        return text + "\n"
    }
}

/// Replaces one `## …` section of a Markdown file (or appends it), leaving the others alone.
enum MarkdownSections {
    static func replace(section title: String, with body: String, in path: String) throws {
        var lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n").components(separatedBy: "\n")
        let heading = "## \(title)"
        let newLines = body.trimmingCharacters(in: .newlines).components(separatedBy: "\n")
        if let start = lines.firstIndex(of: heading) {
            let end = lines[(start + 1)...].firstIndex { $0.hasPrefix("## ") } ?? lines.endIndex
            lines.replaceSubrange(start..<end, with: newLines + [""])
        } else {
            if lines.last?.isEmpty == false { lines.append("") }
            lines += newLines + [""]
        }
        try FileManager.default.createDirectory(
            atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true
        )
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    }
}
