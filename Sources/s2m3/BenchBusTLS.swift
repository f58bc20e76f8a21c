import ArgumentParser
import Foundation
import LocalBroker
import LocalCluster
import Logging
import MQTTBus

/// `s2m3 bench bus --tls`: the cost of TLS on the bus. One broker from broker-config/bench-tls.conf
/// with a plain and a TLS listener (certificates made by make-credentials.sh for the run), MQTTBus →
/// MQTTBus over each, interleaved case by case. Writes the "MQTT bus: TLS vs plain" section.
struct BusTLSBenchmark {
    struct Row {
        var c: BusBenchmark.Case
        var plainLatency: BusBenchmark.Latency
        var tlsLatency: BusBenchmark.Latency
        var plainThroughput: BusBenchmark.Throughput?
        var tlsThroughput: BusBenchmark.Throughput?

        var latencyLine: String {
            "| \(c.label) | \(c.qos.rawValue) | \(us(plainLatency.p50)) | \(us(tlsLatency.p50)) | \(ratio(tlsLatency.p50, plainLatency.p50)) | \(us(plainLatency.p99)) | \(us(tlsLatency.p99)) | \(tlsLatency.samples) |"
        }

        var throughputLine: String {
            "| \(c.label) | \(c.qos.rawValue) | \(rate(plainThroughput)) | \(rate(tlsThroughput)) | \(ratio(tlsThroughput?.messagesPerSecond, plainThroughput?.messagesPerSecond)) |"
        }

        private func ratio(_ a: Double?, _ b: Double?) -> String {
            guard let a, let b, a.isFinite, b.isFinite, b > 0 else { return "–" }
            return String(format: "%.2f×", a / b)
        }

        private func us(_ value: Double) -> String {
            guard value.isFinite else { return "–" }
            return value < 1000 ? String(format: "%.0f µs", value) : String(format: "%.2f ms", value / 1000)
        }

        private func rate(_ t: BusBenchmark.Throughput?) -> String {
            guard let t, t.messagesPerSecond.isFinite else { return "–" }
            let lost = t.received < t.sent ? " (\(t.sent - t.received) of \(t.sent) lost)" : ""
            return String(format: "%.0f msg/s, %.0f MB/s", t.messagesPerSecond, t.messagesPerSecond * Double(c.size) / 1e6) + lost
        }
    }

    let cases: [BusBenchmark.Case]
    let repetitions: Int
    let logger: Logger
    let tools: (pub: String, sub: String)

    /// Makes the certificates, starts the broker, measures every case on both listeners.
    func run() async throws -> [Row] {
        let secrets = NSTemporaryDirectory() + "s2m3-bench-tls-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: secrets) }
        try Self.makeCertificates(into: secrets)
        let configuration = MosquittoProcessConfiguration(template: try BrokerConfigLocator.find("bench-tls.conf"), secretsDirectory: secrets)
        return try await MosquittoProcess.withRunning(configuration) { broker in
            guard broker.ports.count == 2 else { throw BenchError("bench-tls.conf must have two listeners (plain, TLS)") }
            let plain = BusBenchmark(broker: broker, logger: logger, tools: tools, port: broker.ports[0])
            let tls = BusBenchmark(
                broker: broker, logger: logger, tools: tools, port: broker.ports[1], tls: MQTTTLSConfiguration(caFile: secrets + "/ca.crt"))
            var rows: [Row] = []
            for (index, c) in cases.enumerated() {
                print("bench bus --tls: \(c.label) QoS \(c.qos.rawValue)…")
                let topic = "bench-tls/\(index)"
                var row = Row(
                    c: c, plainLatency: BusBenchmark.percentiles(try await plain.swiftLatency(c, samples: c.latencySamples, topic: topic + "/lat-plain")),
                    tlsLatency: BusBenchmark.percentiles(try await tls.swiftLatency(c, samples: c.latencySamples, topic: topic + "/lat-tls")))
                var plainRounds: [BusBenchmark.Throughput] = []
                var tlsRounds: [BusBenchmark.Throughput] = []
                for round in 0..<repetitions {
                    plainRounds.append(try await plain.swiftThroughput(c, topic: topic + "/tp-plain-\(round)", window: 20))
                    tlsRounds.append(try await tls.swiftThroughput(c, topic: topic + "/tp-tls-\(round)", window: 20))
                }
                row.plainThroughput = BusBenchmark.median(plainRounds)
                row.tlsThroughput = BusBenchmark.median(tlsRounds)
                print(row.latencyLine)
                print(row.throughputLine)
                rows.append(row)
            }
            return rows
        }
    }

    /// A throw-away CA and server certificate for localhost/127.0.0.1 (no identities needed).
    static func makeCertificates(into directory: String) throws {
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/bin/bash")
        script.arguments = [
            try BrokerConfigLocator.find("make-credentials.sh"), "--force", "--devices", "", "--aggregators", "", "--planners", "",
            "--clients", "", "--monitors", "", directory,
        ]
        script.standardOutput = FileHandle.nullDevice
        try script.run()
        script.waitUntilExit()
        guard script.terminationStatus == 0 else { throw BenchError("make-credentials.sh failed (status \(script.terminationStatus))") }
    }

    static func markdown(rows: [Row], command: String, load: String, repetitions: Int) -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown CPU"
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        var text = """
        ## MQTT bus: TLS vs plain

        Made with `\(command)` (release build) on \(date): \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores, \
        load average \(load) at the start; one Mosquitto 2.0.11 from `broker-config/bench-tls.conf` on loopback with \
        a plain listener and a TLS 1.2 listener (secure.conf's TLS settings; a P-256 server certificate \
        from `make-credentials.sh`). MQTTBus publisher → MQTTBus subscriber in one process, over the plain \
        listener and then over the TLS one, case by case in the same run. The connection's TLS handshake is \
        not in the figures (connections are made before measuring). Ratios are TLS ÷ plain.

        **Latency**, one message at a time, from the `publish` call to the consuming task receiving it, \
        after 10 % warm-up.

        | payload | QoS | plain p50 | TLS p50 | TLS / plain p50 | plain p99 | TLS p99 | samples each |
        |---|---|---|---|---|---|---|---|

        """
        text += rows.map(\.latencyLine).joined(separator: "\n")
        text += """


        **Throughput**, one publisher → one subscriber (QoS 1: up to 20 publishes awaiting PUBACK), rate \
        between the subscriber's first and last receipt; median of \(repetitions) rounds, plain and TLS interleaved.

        | payload | QoS | plain | TLS | TLS / plain |
        |---|---|---|---|---|

        """
        text += rows.map(\.throughputLine).joined(separator: "\n")
        return text + "\n"
    }
}
