import Foundation
import TestSupport
import Testing

@testable import LocalBroker

@Suite("LocalBroker")
struct LocalBrokerTests {
    @Test func secureConfigIsRewrittenForALocalRun() throws {
        let template = try MosquittoConfigTemplate(path: TestPaths.brokerConfig("secure.conf"))
        #expect(template.listenerCount == 1)
        let text = template.render(
            ports: [40001], bindAddress: "127.0.0.1", workDirectory: "/work/dir",
            secretsDirectory: "/sec", runAsRoot: true, extraLines: ["max_keepalive 60"]
        )
        let lines = Set(text.split(separator: "\n").map(String.init))
        #expect(lines.contains("listener 40001 127.0.0.1"))
        #expect(lines.contains("password_file /sec/passwd"))
        #expect(lines.contains("cafile /sec/ca.crt"))
        #expect(lines.contains("acl_file /sec/acl"))  // made by make-credentials.sh for the identities
        #expect(lines.contains("use_username_as_clientid true"))
        #expect(lines.contains("persistence_location /work/dir/data/"))
        #expect(lines.contains("user root"))
        #expect(lines.contains("max_keepalive 60"))
        #expect(lines.contains("set_tcp_nodelay true"))
        #expect(!lines.contains("persistence_location /var/lib/mosquitto/"))
    }

    @Test func templateWithoutListenerIsRejected() throws {
        let path = NSTemporaryDirectory() + TestBroker.unique("nolistener") + ".conf"
        try "allow_anonymous true\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: LocalBrokerError.self) { try MosquittoConfigTemplate(path: path) }
        #expect(error.code == .badTemplate)
    }

    @Test func brokerThatCannotStartReportsItsLog() async throws {
        let path = NSTemporaryDirectory() + TestBroker.unique("broken") + ".conf"
        try "listener 1883\nnot_a_directive yes\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try await #require(throws: LocalBrokerError.self) {
            _ = try await MosquittoProcess.start(MosquittoProcessConfiguration(template: path))
        }
        #expect(error.code == .startFailed)
        #expect(error.message.contains("not_a_directive"))
    }

    /// Dropping a MosquittoProcess without stop() still ends the broker and its temporary files.
    @Test func droppedBrokerIsStoppedByItsWatchdog() async throws {
        var broker: MosquittoProcess? = try await MosquittoProcess.start(MosquittoProcessConfiguration(template: TestPaths.brokerConfig("dev.conf")))
        let (host, port, directory) = (broker!.host, broker!.port, broker!.workDirectory)
        #expect(MosquittoProcess.accepts(host: host, port: port))
        broker = nil
        let stopped = try await within(.seconds(10), "the dropped broker to stop and clean up") {
            while MosquittoProcess.accepts(host: host, port: port) || FileManager.default.fileExists(atPath: directory) {
                try await Task.sleep(for: .milliseconds(20))
            }
            return true
        }
        #expect(stopped)
        _ = broker
    }

    /// The broker starts with HeapTuning's glibc settings, and this process can take them too,
    /// unless the environment already tunes glibc's malloc (docs/benchmarks.md, "MQTT bus: heap tuning").
    @Test func brokerAndProcessGetTheHeapTuning() async throws {
        let operatorTunes = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.") ?? false
        #expect(HeapTuning.applyToThisProcess() == !operatorTunes)
        let broker = try await MosquittoProcess.start(MosquittoProcessConfiguration(template: TestPaths.brokerConfig("dev.conf")))
        let environment = broker.processIdentifier.flatMap { FileManager.default.contents(atPath: "/proc/\($0)/environ") }
        await broker.stop()
        let entries = Set(try #require(environment).split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
        // glibc parses GLIBC_TUNABLES in place at start-up, so /proc shows it cut at the first ':'.
        let tuned = entries.contains { $0.hasPrefix("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=\(HeapTuning.mmapThreshold)") }
        #expect(tuned == !operatorTunes)
        #expect(HeapTuning.childEnvironment["GLIBC_TUNABLES"]?.hasSuffix(":glibc.malloc.trim_threshold=\(HeapTuning.trimThreshold)") == !operatorTunes)
    }
}
